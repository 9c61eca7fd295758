"""Security properties of the Pulumi program, asserted on what it registers under the mock engine."""

from __future__ import annotations

import base64
import gzip
import ipaddress
import re
import uuid

import yaml

from tests.unit.conftest import Inventory

ANYWHERE = {"0.0.0.0/0", "::/0"}
HOST_ROLES_WITHOUT_FIP = ("app", "db", "recordings", "payment")


def delivered(user_data: str) -> str:
    """What cloud-init gets from Nova: the program sends base64 of gzip (decoded here with the stdlib only)."""
    return gzip.decompress(base64.b64decode(user_data, validate=True)).decode()


def rules(inv: Inventory):
    return inv.of_type(":SecGroupRule")


def test_every_security_group_drops_the_default_rules(inventory: Inventory) -> None:
    groups = inventory.of_type(":SecGroup")
    assert {inventory.role_of_group(g) for g in groups} >= {"lb", "bastion", "app", "db", "recordings"}
    assert all(g.inputs.get("deleteDefaultRules") is True for g in groups)


def test_only_https_to_the_lb_is_open_to_the_internet(inventory: Inventory) -> None:
    public = [r for r in rules(inventory) if r.inputs.get("remoteIpPrefix") in ANYWHERE]
    assert public, "the LB must accept HTTPS from the internet"
    for rule in public:
        assert rule.inputs["direction"] == "ingress", f"{rule.name}: egress to anywhere"
        assert inventory.rule_role(rule) == "lb", f"{rule.name}: internet ingress outside the LB"
        assert (rule.inputs["portRangeMin"], rule.inputs["portRangeMax"]) == (443, 443), rule.name


def test_no_rule_allows_any_protocol_or_a_port_range(inventory: Inventory) -> None:
    for rule in rules(inventory):
        assert rule.inputs.get("protocol") in ("tcp", "udp"), rule.name
        assert rule.inputs["portRangeMin"] == rule.inputs["portRangeMax"], rule.name


def test_ssh_only_from_admin_cidrs_to_bastion_and_from_bastion_to_hosts(inventory: Inventory) -> None:
    admin_cidrs = set(inventory.cfg.network.admin_cidrs)
    ssh_in = [r for r in rules(inventory) if r.inputs["direction"] == "ingress" and r.inputs["portRangeMin"] == 22]
    assert ssh_in
    for rule in ssh_in:
        role = inventory.rule_role(rule)
        if role == "bastion":
            assert rule.inputs.get("remoteIpPrefix") in admin_cidrs, rule.name
            assert "remoteGroupId" not in rule.inputs
        else:
            assert inventory.remote_role(rule) == "bastion", f"{rule.name}: SSH not from the bastion"
    bastion_sources = {r.inputs.get("remoteIpPrefix") for r in ssh_in if inventory.rule_role(r) == "bastion"}
    assert bastion_sources == admin_cidrs


def test_app_reaches_data_tier_only_on_the_database_port(inventory: Inventory) -> None:
    into_db = [r for r in rules(inventory) if inventory.rule_role(r) == "db" and r.inputs["direction"] == "ingress"]
    from_app = [r for r in into_db if inventory.remote_role(r) == "app"]
    assert [r.inputs["portRangeMin"] for r in from_app] == [5432]
    app_egress = [r for r in rules(inventory) if inventory.rule_role(r) == "app" and r.inputs["direction"] == "egress"]
    assert {r.inputs["portRangeMin"] for r in app_egress if inventory.remote_role(r) == "db"} == {5432}


def test_egress_is_restricted_per_role(inventory: Inventory) -> None:
    services = ipaddress.ip_network(inventory.cfg.network.services_cidr)
    for rule in rules(inventory):
        if rule.inputs["direction"] != "egress":
            continue
        prefix = rule.inputs.get("remoteIpPrefix")
        if prefix is not None:
            assert ipaddress.ip_network(prefix) == services, f"{rule.name}: egress outside the services range"
        else:
            assert inventory.remote_role(rule) is not None, f"{rule.name}: egress without a destination"


def test_pci_zone_is_reachable_only_from_app_and_bastion(inventory: Inventory) -> None:
    into_payment = [
        r for r in rules(inventory) if inventory.rule_role(r) == "payment" and r.inputs["direction"] == "ingress"
    ]
    for rule in into_payment:
        assert "remoteIpPrefix" not in rule.inputs, rule.name
        assert inventory.remote_role(rule) in ("app", "bastion"), rule.name


def test_every_volume_uses_an_allow_listed_encrypted_type(inventory: Inventory) -> None:
    allowed = set(inventory.cfg.storage.encrypted_volume_types)
    volumes = inventory.of_type(":Volume")
    assert volumes
    assert all(v.inputs.get("volumeType") in allowed for v in volumes), [v.name for v in volumes]


def test_instances_boot_from_encrypted_volumes_with_config_drive_and_tags(inventory: Inventory) -> None:
    allowed = set(inventory.cfg.storage.encrypted_volume_types)
    required_tags = {"owner", "environment", "role", "data_classification", "pci_scope"}
    for instance in inventory.instances():
        (device,) = instance.inputs["blockDevices"]
        assert device["sourceType"] == "volume" and device["bootIndex"] == 0, instance.name
        assert inventory.by_id[device["uuid"]].inputs["volumeType"] in allowed
        assert "imageId" not in instance.inputs and "imageName" not in instance.inputs
        assert instance.inputs["configDrive"] is True
        assert required_tags <= set(instance.inputs["metadata"]), instance.name
        assert instance.inputs["metadata"]["pci_scope"] in ("true", "false")


def test_each_role_has_an_anti_affinity_server_group(inventory: Inventory) -> None:
    for instance in inventory.instances():
        (hint,) = instance.inputs["schedulerHints"]
        group = inventory.by_id[hint["group"]]
        assert group.type == "openstack:compute/serverGroup:ServerGroup"
        assert group.inputs["policies"] == "anti-affinity"
        assert group.parent == instance.parent, "hosts of one role share their role's server group"


def test_floating_ips_only_for_lb_vip_and_bastion(inventory: Inventory) -> None:
    fips = inventory.of_type(":FloatingIp")
    lb = inventory.of_type(":LoadBalancer")
    bastion_ports = {p.id for p in inventory.of_type(":Port") if "ccaas-role=bastion" in p.inputs["tags"]}
    assert len(fips) == 1 + inventory.cfg.cluster["bastion"].count
    for fip in fips:
        port = fip.inputs["portId"]
        is_vip = port == f"{lb[0].id}-vip-port"
        assert is_vip or port in bastion_ports, f"{fip.name} is attached to a non-public host"
    for role in HOST_ROLES_WITHOUT_FIP:
        for instance in inventory.instances(role):
            port_ids = {n["port"] for n in instance.inputs["networks"]}
            assert not port_ids & {f.inputs["portId"] for f in fips}, instance.name


def test_known_hosts_output_pins_every_host_with_its_provisioned_key(inventory: Inventory) -> None:
    assert "known_hosts" in inventory.report.run.secret_outputs
    lines = inventory.report.run.outputs["known_hosts"].splitlines()
    pinned = {line.split()[0].split(",")[0]: line.split(None, 1)[1] for line in lines}
    instances = inventory.instances()
    assert set(pinned) == {i.name for i in instances}
    for instance in instances:
        user_data = yaml.safe_load(delivered(instance.inputs["userData"]))
        assert pinned[instance.name] == " ".join(user_data["ssh_keys"]["ed25519_public"].split()[:2])
        assert user_data["ssh_genkeytypes"] == ["ed25519"] and user_data["ssh_deletekeys"] is True


def test_user_data_is_a_secret_cloud_config_with_the_baseline(inventory: Inventory) -> None:
    for instance in inventory.instances():
        assert "userData" in instance.secret_inputs, f"{instance.name}: user_data carries keys, must be secret"
        text = delivered(instance.inputs["userData"])
        assert text.startswith("#cloud-config\n# ccaas-baseline host baseline v1\n")
        document = yaml.safe_load(text)
        assert document["ssh_pwauth"] is False and document["disable_root"] is True


def test_tls_terminates_at_the_lb_with_modern_versions_and_barbican(inventory: Inventory) -> None:
    (listener,) = inventory.of_type(":Listener")
    assert listener.inputs["protocol"] == "TERMINATED_HTTPS" and listener.inputs["protocolPort"] == 443
    assert listener.inputs["tlsVersions"] == ["TLSv1.2", "TLSv1.3"]
    assert not re.search(r"RC4|DES|MD5|NULL|CBC|EXPORT", listener.inputs["tlsCiphers"])
    assert listener.inputs["hstsMaxAge"] >= 15_552_000
    (container,) = inventory.of_type(":ContainerV1")
    assert listener.inputs["defaultTlsContainerRef"].endswith(container.id)
    secrets = inventory.of_type(":SecretV1")
    assert {s.inputs["secretType"] for s in secrets} == {"certificate", "private"}
    assert all("payload" in s.secret_inputs for s in secrets), "certificate material must stay a Pulumi secret"


def test_backup_containers_are_private_versioned_and_offsite(inventory: Inventory) -> None:
    containers = inventory.of_type(":objectstorage/container:Container")
    assert {c.inputs["name"] for c in containers} == {
        inventory.cfg.storage.backup_container,
        inventory.cfg.storage.offsite_container,
    }
    assert len({c.inputs["region"] for c in containers}) == 2, "the off-site copy lives in another region"
    for container in containers:
        assert container.inputs["versioning"] is True
        assert "containerRead" not in container.inputs and "containerWrite" not in container.inputs


def test_backup_credentials_are_restricted_to_swift_and_expire(inventory: Inventory) -> None:
    credentials = inventory.of_type(":ApplicationCredential")
    assert {c.inputs["name"].rsplit("-", 2)[-2] for c in credentials} == {"db", "recordings"}
    containers = {inventory.cfg.storage.backup_container, inventory.cfg.storage.offsite_container}
    for credential in credentials:
        assert credential.inputs["unrestricted"] is False
        assert credential.inputs["expiresAt"] == inventory.cfg.backup.credential_expires_at
        assert "admin" not in credential.inputs["roles"]
        for rule in credential.inputs["accessRules"]:
            assert rule["service"] == "object-store"
            assert rule["path"].split("/")[3] in containers


def test_db_s3_key_is_created_for_a_dedicated_user_with_one_swift_role(inventory: Inventory) -> None:
    """One `pulumi up` yields working pgBackRest backups: the program makes the EC2 key, for nobody but a
    password-less backup user holding one non-admin role on the project, and it reaches only db hosts."""
    keys = inventory.of_type(":identity/ec2CredentialV3:Ec2CredentialV3")
    users = {u.urn: u for u in inventory.of_type(":identity/user:User")}
    assert len(keys) == 1, "one EC2 key: pgBackRest runs on the db role only"
    key = keys[0]
    owner = [users[d] for d in key.property_dependencies.get("userId", ()) if d in users]
    assert len(owner) == 1, "the key's user_id comes from the dedicated user"
    user = owner[0]
    assert "backup" in user.inputs["name"] and "password" not in user.inputs, "the user cannot log in"
    assert key.inputs["projectId"] and key.inputs["projectId"] == user.inputs["defaultProjectId"]
    grants = [
        g
        for g in inventory.of_type(":identity/roleAssignment:RoleAssignment")
        if user.urn in g.property_dependencies.get("userId", ())
    ]
    assert len(grants) == 1, "the backup user holds exactly one role"
    assert grants[0].inputs["projectId"] == key.inputs["projectId"]
    # the mock engine resolves a role name to uuid5("role/<name>"): the grant is the configured Swift role
    assert grants[0].inputs["roleId"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "role/swiftoperator"))
    assert inventory.cfg.backup.s3_role == "swiftoperator"
    for instance in inventory.instances():
        from_key = key.urn in instance.property_dependencies.get("userData", ())
        assert from_key == (instance.inputs["metadata"]["role"] == "db"), instance.name
        if from_key:
            env = yaml.safe_load(delivered(instance.inputs["userData"]))
            files = {f["path"]: f for f in env["write_files"]}
            s3 = files["/etc/ccsec/backup/secrets/s3.env"]
            assert (s3["permissions"], s3["owner"]) == ("0600", "root:root")
            values = dict(line.split("=", 1) for line in s3["content"].splitlines())
            assert set(values) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} and all(values.values())


def test_operator_and_auditor_roles_exist(inventory: Inventory) -> None:
    names = {r.inputs["name"] for r in inventory.of_type(":identity/role:Role")}
    assert names == {f"{inventory.cfg.stack}-operator", f"{inventory.cfg.stack}-auditor"}


def test_stateful_hosts_carry_their_backup_schedule(inventory: Inventory) -> None:
    for role in ("db", "recordings"):
        for instance in inventory.instances(role):
            assert int(instance.inputs["metadata"]["backup_diff_minutes"]) <= 5
            assert int(instance.inputs["metadata"]["backup_full_days"]) <= 30
            env = yaml.safe_load(delivered(instance.inputs["userData"]))
            files = {f["path"]: f for f in env["write_files"]}
            for name in ("swift.env", "restic.pass"):
                secret = files[f"/etc/ccsec/backup/secrets/{name}"]
                assert (secret["permissions"], secret["owner"]) == ("0600", "root:root")
            assert "/opt/ccsec/ccsec-backup.pyz" in files and "/etc/ccsec/backup/agent.toml" in files
            enable = next(
                c for c in env["runcmd"] if c[:3] == ["systemctl", "enable", "--now"] and any("@" in u for u in c)
            )
            engine = "postgres" if role == "db" else "files"
            assert f"ccsec-backup-diff@{engine}.timer" in enable and f"ccsec-backup-full@{engine}.timer" in enable


def test_prod_has_redundant_hosts_for_every_stateful_and_app_role(prod: Inventory) -> None:
    for role in ("app", "db", "recordings"):
        assert len(prod.instances(role)) >= 2, role
    assert len(prod.of_type(":loadbalancer/member:Member")) == len(prod.instances("app"))


def _log_files(instance) -> dict[str, str]:
    document = yaml.safe_load(delivered(instance.inputs["userData"]))
    return {f["path"]: f["content"] for f in document["write_files"]}


def test_every_host_forwards_to_every_log_host_with_its_own_certificate(inventory: Inventory) -> None:
    """HOST-15 as the program wires it: one log CA per stack, a certificate per host naming it, every log host."""
    cfg = inventory.cfg
    by_name = {r.name: r for r in inventory.resources}
    log_hosts = sorted(i.inputs["name"] for i in inventory.instances("loghost"))
    assert len(log_hosts) == cfg.cluster["loghost"].count >= 1
    ca = by_name[f"{cfg.stack}-log-ca"]
    assert ca.inputs["isCaCertificate"] is True and set(ca.inputs["allowedUses"]) == {"cert_signing", "crl_signing"}
    keys = set()
    mgmt = ipaddress.ip_network(cfg.network.zones["mgmt"])
    for instance in inventory.instances():
        name, role = instance.inputs["name"], instance.inputs["metadata"]["role"]
        request, cert = by_name[f"{name}-log-csr"], by_name[f"{name}-log-cert"]
        assert request.inputs["dnsNames"] == [f"{name}.{cfg.stack}.logs.ccaas.internal"]
        uses = set(cert.inputs["allowedUses"])
        assert "client_auth" in uses and ("server_auth" in uses) == (role == "loghost"), (name, uses)
        files = _log_files(instance)
        assert {p: files[p] for p in files if p.startswith("/etc/ssl/ccaas/log")}.keys() == {
            "/etc/ssl/ccaas/log-ca.crt",
            "/etc/ssl/ccaas/log.crt",
            "/etc/ssl/ccaas/log.key",
        }
        keys.add(files["/etc/ssl/ccaas/log.key"])
        forward = files["/etc/rsyslog.d/60-ccaas-forward.conf"]
        targets = re.findall(r'target="([^"]+)"', forward)
        peers = re.findall(r'tls.permittedPeer=\["([^"]+)"\]', forward)
        if role == "loghost":
            assert (targets, peers) == (["127.0.0.1"], [f"{name}.{cfg.stack}.logs.ccaas.internal"])
        else:
            assert peers == [f"{h}.{cfg.stack}.logs.ccaas.internal" for h in log_hosts], (name, peers)
            assert len(set(targets)) == len(log_hosts) and all(ipaddress.ip_address(t) in mgmt for t in targets)
    assert len(keys) == len(inventory.instances()), "every host has a log key of its own"
