"""Run a Pulumi Python program offline under the SDK's mock engine and record what it registered.

This is the official unit-test mechanism (`pulumi.runtime.set_mocks`): the real program runs, the
real pulumi_openstack classes serialise their inputs (so a misspelled argument fails here), but no
cloud is called. Our monitor subclass keeps every registration — type, name, parent, inputs with
their secretness — and the stack's exports, which is what `ccsec plan` and the policy pack need.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import os
import queue
import runpy
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import run_in_stack

from ccsec.errors import CcsecError
from ccsec.policies.resources import RegisteredResource

STACK_TYPE = "pulumi:pulumi:Stack"


class ProgramError(CcsecError):
    """The program failed under the mock engine (bad config, bad argument, exception)."""


@dataclass(frozen=True)
class MockRun:
    stack: str
    project: str
    resources: list[RegisteredResource]
    outputs: dict[str, Any]
    secret_outputs: frozenset[str]
    program_output: str = ""  # what the program itself printed (stdout + stderr), shown apart from ours


def _unwrap(value: Any) -> tuple[Any, bool]:
    """Plain value plus whether it (or anything inside it) was a Pulumi secret; unknowns as the engine's sentinel."""
    if isinstance(value, Unknown):
        return rpc.UNKNOWN, False
    if rpc.is_rpc_secret(value):
        inner, _ = _unwrap(rpc.unwrap_rpc_secret(value))
        return inner, True
    if isinstance(value, dict):
        out, secret = {}, False
        for key, item in value.items():
            out[key], item_secret = _unwrap(item)
            secret = secret or item_secret
        return out, secret
    if isinstance(value, list):
        items = [_unwrap(item) for item in value]
        return [i for i, _ in items], any(s for _, s in items)
    return value, False


def _openssh_keypair() -> tuple[str, str, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return private, public, pem


class OpenStackMocks(pulumi.runtime.Mocks):
    """Fills in the outputs a real OpenStack/TLS provider would compute, deterministically by name."""

    def __init__(self, preview: bool = False) -> None:
        self.subnet_cidrs: dict[str, ipaddress.IPv4Network] = {}
        self.next_host: dict[str, int] = {}
        self.preview = preview

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if self.preview:
            # A first `pulumi preview` of a fresh stack: the provider echoes the inputs and knows nothing it
            # would compute; an empty id is an unknown id (the SDK resolves both as unknown outputs).
            return "", dict(args.inputs)
        rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{args.typ}/{args.name}"))
        state = dict(args.inputs)
        typ = args.typ
        if typ == "openstack:networking/subnet:Subnet":
            self.subnet_cidrs[rid] = ipaddress.IPv4Network(args.inputs["cidr"])
        elif typ == "openstack:networking/port:Port":
            state["allFixedIps"] = [self._allocate(ip.get("subnetId", "")) for ip in args.inputs.get("fixedIps", [])]
        elif typ == "tls:index/privateKey:PrivateKey":
            private, public, pem = _openssh_keypair()
            state.update(privateKeyOpenssh=private, publicKeyOpenssh=public, privateKeyPem=pem)
        elif typ in ("tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert"):
            state["certPem"] = "-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n"
        elif typ == "random:index/randomPassword:RandomPassword":
            state["result"] = hashlib.sha256(args.name.encode()).hexdigest()[: int(args.inputs.get("length", 32))]
        elif typ == "random:index/randomId:RandomId":
            state["hex"] = hashlib.sha256(args.name.encode()).hexdigest()[: 2 * int(args.inputs.get("byteLength", 8))]
        elif typ == "openstack:keymanager/secretV1:SecretV1":
            state["secretRef"] = f"https://barbican.mock/v1/secrets/{rid}"
        elif typ == "openstack:keymanager/containerV1:ContainerV1":
            state["containerRef"] = f"https://barbican.mock/v1/containers/{rid}"
        elif typ == "openstack:identity/applicationCredential:ApplicationCredential":
            state["secret"] = hashlib.sha256(f"secret/{args.name}".encode()).hexdigest()
        elif typ == "openstack:identity/ec2CredentialV3:Ec2CredentialV3":
            state["access"] = hashlib.sha256(f"access/{args.name}".encode()).hexdigest()[:32]
            state["secret"] = hashlib.sha256(f"ec2-secret/{args.name}".encode()).hexdigest()
        elif typ == "openstack:loadbalancer/loadBalancer:LoadBalancer":
            state.update(vipPortId=f"{rid}-vip-port", vipAddress="10.0.0.10")
        elif typ == "openstack:networking/floatingIp:FloatingIp":
            state["address"] = "203.0.113." + str(int(hashlib.sha256(args.name.encode()).hexdigest(), 16) % 250 + 1)
        return rid, state

    def _allocate(self, subnet_id: str) -> str:
        network = self.subnet_cidrs.get(subnet_id)
        if network is None:
            return "0.0.0.0"  # noqa: S104 - an unknown subnet in a foreign program; not a listen address
        index = self.next_host.get(subnet_id, 10) + 1
        self.next_host[subnet_id] = index
        return str(network.network_address + index)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        """Lookups (they run at preview too): the deploying user's scope and roles by name."""
        if args.token == "openstack:identity/getAuthScope:getAuthScope":
            ids = {k: str(uuid.uuid5(uuid.NAMESPACE_URL, f"scope/{k}")) for k in ("project", "user", "domain")}
            return {
                "name": args.args.get("name", "current"),
                "projectId": ids["project"],
                "projectName": "ccaas",
                "projectDomainId": ids["domain"],
                "userId": ids["user"],
                "userName": "deployer",
                "userDomainId": ids["domain"],
                "roles": [{"roleId": str(uuid.uuid5(uuid.NAMESPACE_URL, "role/member")), "roleName": "member"}],
            }
        if args.token == "openstack:identity/getRole:getRole":
            role = str(args.args.get("name", ""))
            role_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"role/{role}"))
            return {"id": role_id, "name": role, "domainId": "default"}
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, keeping each registration as a RegisteredResource."""

    def __init__(self, mocks: pulumi.runtime.Mocks, on_record: Callable[[RegisteredResource], None] | None = None):
        super().__init__(mocks)
        self.on_record = on_record
        self.records: list[RegisteredResource] = []
        self.stack_outputs: dict[str, Any] = {}
        self.secret_outputs: set[str] = set()

    def RegisterResource(self, request):
        # Same steps as MockMonitor.RegisterResource, deserialising the request only once: at a
        # thousand servers the second pass was a measurable share of `ccsec plan`.
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        pulumi_mocks._ensure_event_loop()
        raw = rpc.deserialize_properties(request.object, keep_unknowns=True) or {}
        inputs, secret_keys = {}, set()
        for key, value in raw.items():
            inputs[key], secret = _unwrap(value)
            if secret:
                secret_keys.add(key)
        resource_id, state = self.mocks.new_resource(
            pulumi.runtime.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
            )
        )
        state_proto = pulumi_mocks._sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        record = RegisteredResource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            inputs=inputs,
            secret_inputs=frozenset(secret_keys),
            custom=bool(request.custom),
            provider=request.provider or "",
            dependencies=tuple(request.dependencies),
            id=resource_id or "",
            property_dependencies={k: tuple(v.urns) for k, v in request.propertyDependencies.items()},
        )
        self.records.append(record)
        if self.on_record is not None:
            self.on_record(record)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=state_proto)

    def RegisterResourceOutputs(self, request):
        if f"::{STACK_TYPE}::" in request.urn:
            raw = rpc.deserialize_properties(request.outputs, keep_unknowns=True) or {}
            for key, value in raw.items():
                self.stack_outputs[key], secret = _unwrap(value)
                if secret:
                    self.secret_outputs.add(key)
        return super().RegisterResourceOutputs(request)


def run_in_this_process(
    program: Path,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str] | tuple[str, ...] = (),
    project: str = "ccaas-baseline",
    on_record: Callable[[RegisteredResource], None] | None = None,
    preview: bool = False,
) -> MockRun:
    """Execute `program` here under the mock engine. Only the child process (ccsec.mockchild) calls this.

    ``preview=True`` runs it as a first `pulumi preview` of a fresh stack: every id and computed output
    is unknown, so inputs built from them reach the policies as the engine's unknown sentinel.
    """
    path = program / "__main__.py" if program.is_dir() else program
    if not path.is_file():
        raise ProgramError(f"program {program} not found (give a .py file or a directory with __main__.py)")
    mocks = OpenStackMocks(preview)
    monitor = RecordingMonitor(mocks, on_record)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_all_config(dict(config), list(secret_keys))
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
        # set_mocks creates and finishes a root Stack at once; the program's exports need a Stack that
        # finishes after the program, as under the CLI, so run_in_stack makes that one.
        runtime_settings.ROOT.set(None)

        def execute() -> None:
            runpy.run_path(str(path), run_name="__main__")

        # Source positions (a traceback walk per resource) only annotate CLI diagnostics; offline they
        # cost ~13 % of a large plan, so the mock run skips them.
        saved_trace = runtime_resource._get_stack_trace
        runtime_resource._get_stack_trace = source_pb2.StackTrace
        saved_path = list(sys.path)
        sys.path.insert(0, str(path.parent))
        try:
            loop.run_until_complete(run_in_stack(execute))
        finally:
            sys.path[:] = saved_path
            runtime_resource._get_stack_trace = saved_trace
    except pulumi.RunError as error:
        raise ProgramError(f"the program failed under the mock engine:\n{error}") from None
    except SystemExit as error:  # sys.exit()/raise SystemExit in the program: it never finished declaring
        raise ProgramError(f"the program exited early (SystemExit({error.code!r})) before it completed") from None
    except Exception as error:  # the program's own bug or a bad resource argument
        raise ProgramError(f"the program failed under the mock engine:\n{type(error).__name__}: {error}") from error
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return MockRun(stack, project, monitor.records, monitor.stack_outputs, frozenset(monitor.secret_outputs))


PLAN_TIMEOUT_ENV = "CCSEC_PLAN_TIMEOUT"


def _from_wire(data: dict[str, Any]) -> RegisteredResource:
    return RegisteredResource(
        **{
            **data,
            "secret_inputs": frozenset(data["secret_inputs"]),
            "dependencies": tuple(data["dependencies"]),
            "property_dependencies": {k: tuple(v) for k, v in data.get("property_dependencies", {}).items()},
        }
    )


def run_program(
    program: Path,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str] | tuple[str, ...] = (),
    project: str = "ccaas-baseline",
    preview: bool = False,
    on_resource: Callable[[RegisteredResource], None] | None = None,
) -> MockRun:
    """Run `program` in a child process under the mock engine; only this (parent) side is trusted.

    Registrations stream over a private pipe; the run counts only when the child says ``done`` after
    the program completed and the count matches what was streamed. Anything else (early exit, crash,
    os._exit, a timeout) is a ProgramError: exit 2, never a clean verdict. ``on_resource`` sees each
    registration as it arrives (in a parent thread, while the program runs on), e.g. to analyze it.
    """
    timeout = float(os.environ.get(PLAN_TIMEOUT_ENV, "900"))
    request = json.dumps(
        {
            "program": str(program),
            "stack": stack,
            "config": dict(config),
            "secret_keys": list(secret_keys),
            "project": project,
            "preview": preview,
        }
    )
    read_fd, write_fd = os.pipe()
    messages: list[dict[str, Any]] = []
    broken: list[str] = []
    handed: queue.SimpleQueue[RegisteredResource | None] = queue.SimpleQueue()
    failed: list[BaseException] = []

    def drain() -> None:
        with os.fdopen(read_fd, encoding="utf-8") as channel:
            for line in channel:
                try:
                    message = json.loads(line)
                except json.JSONDecodeError:
                    broken.append(line[:80])
                    continue
                if isinstance(message, dict):
                    message.pop("parsed", None)  # the key is ours: the child never supplies a parsed resource
                if isinstance(message, dict) and message.get("t") == "resource" and on_resource is not None:
                    try:
                        message["parsed"] = _from_wire(message["resource"])
                    except (KeyError, TypeError, ValueError):
                        broken.append(line[:80])
                        continue
                    handed.put(message["parsed"])
                messages.append(message)

    def consume() -> None:
        """Runs the callback apart from the reader, so a slow callback never stalls the pipe's reader."""
        while (resource := handed.get()) is not None:
            if not failed:
                try:
                    on_resource(resource)  # type: ignore[misc]
                except Exception as exc:  # re-raised below, in the caller's thread
                    failed.append(exc)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "ccsec.mockchild", str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        try:
            child.communicate(request.encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            raise ProgramError(
                f"the program did not complete within {timeout:.0f} s (set {PLAN_TIMEOUT_ENV})"
            ) from None
        reader.join(timeout=30)
        handed.put(None)
        consumer.join()  # bounded: only what was already read is left to hand over
        if failed:
            raise failed[0]
        out.seek(0)
        err.seek(0)
        printed = (out.read() + err.read()).decode("utf-8", "replace")
    return _assemble(messages, broken, child.returncode, printed, stack, project)


def _assemble(
    messages: list[dict[str, Any]], broken: list[str], returncode: int, printed: str, stack: str, project: str
) -> MockRun:
    """The MockRun the child streamed, or a ProgramError saying why the run does not count."""
    errors = [m["message"] for m in messages if m.get("t") == "error"]
    if errors:
        raise ProgramError(errors[0])
    done = [m for m in messages if m.get("t") == "done"]
    resources = [
        m["parsed"] if isinstance(m.get("parsed"), RegisteredResource) else _from_wire(m["resource"])
        for m in messages
        if m.get("t") == "resource"
    ]
    if broken or returncode != 0 or len(done) != 1 or done[0].get("count") != len(resources):
        tail = printed.strip().splitlines()[-15:]
        detail = "\n".join(tail) if tail else "(the program printed nothing)"
        raise ProgramError(
            f"the program did not complete (child exit status {returncode}, "
            f"{'no completion message' if not done else 'an inconsistent stream'}):\n{detail}"
        )
    outputs = next(m for m in messages if m.get("t") == "outputs")
    return MockRun(stack, project, resources, outputs["outputs"], frozenset(outputs["secret"]), printed)
