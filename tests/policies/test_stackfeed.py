"""StackFeed: what a stack policy is sent, decided one registration at a time."""

from __future__ import annotations

from ccsec.policies.resources import RegisteredResource
from ccsec.policies.rules._props import UNKNOWN_SENTINELS
from ccsec.policies.stackfeed import StackFeed, StackPart

INSTANCE = "openstack:compute/instance:Instance"
KEY = "tls:index/privateKey:PrivateKey"
REF = "pulumi:pulumi:StackReference"
UNKNOWN = next(iter(UNKNOWN_SENTINELS))


def res(name: str, type_: str, inputs: dict | None = None, **kw) -> RegisteredResource:
    return RegisteredResource(f"urn:pulumi:s::p::{type_}::{name}", type_, name, None, inputs or {}, **kw)


def feed_of(*resources: RegisteredResource, part: StackPart) -> StackFeed:
    feed = StackFeed([part])
    for r in resources:
        feed.add(r)
    return feed


def test_an_unknown_followed_input_brings_its_sources_whatever_their_type() -> None:
    key, ref = res("key", KEY), res("ref", REF)
    vm = res("vm", INSTANCE, {"userData": UNKNOWN}, property_dependencies={"userData": (key.urn, ref.urn)})
    other = res("other", KEY)
    feed = feed_of(ref, key, other, vm, part=StackPart("p", frozenset({INSTANCE}), ("userData",)))
    assert feed.sent(0) == [ref.urn, key.urn, vm.urn]  # registration order, the unrelated key left out


def test_a_known_followed_input_brings_nothing_and_an_outside_source_is_dropped() -> None:
    key = res("key", KEY)
    known = res("vm", INSTANCE, {"userData": "#cloud-config"}, property_dependencies={"userData": (key.urn,)})
    outside = res("vm2", INSTANCE, {"userData": UNKNOWN}, property_dependencies={"userData": ("urn:elsewhere",)})
    feed = feed_of(key, known, outside, part=StackPart("p", frozenset({INSTANCE}), ("userData",)))
    assert feed.sent(0) == [known.urn, outside.urn]


def test_a_selector_narrows_a_policy_that_reads_every_type_and_sees_its_settings() -> None:
    calls = []

    def pick(type_: str, inputs: dict, settings: dict) -> bool:
        calls.append(settings)
        return inputs.get("flag") == settings["want"]

    a, b = res("a", KEY, {"flag": 1}), res("b", REF, {"flag": 2})
    feed = feed_of(a, b, part=StackPart("p", None, (), pick, {"want": 2}))
    assert feed.sent(0) == [b.urn] and calls == [{"want": 2}] * 2


def test_secret_keys_list_only_secret_named_inputs_that_are_secrets() -> None:
    r = res("c", KEY, {"password": "x", "name": "n", "token": "t"}, secret_inputs=frozenset({"password", "name"}))
    feed = feed_of(r, part=StackPart("p", frozenset()))
    assert feed.secret_keys == {r.urn: ["password"]}


def test_matches_only_the_same_resources_in_the_same_order() -> None:
    a, b = res("a", KEY), res("b", KEY)
    feed = feed_of(a, b, part=StackPart("p", None))
    assert feed.matches([a, b])
    assert not feed.matches([b, a]) and not feed.matches([a]) and not feed.matches([a, b, res("c", KEY)])
