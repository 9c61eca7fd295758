"""A fresh ED25519 host identity for user-data tests (the program gets its keys from pulumi-tls)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ccsec.infra.userdata import HostIdentity


def identity() -> HostIdentity:
    """A new key pair each call, so no test depends on a committed private key."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return HostIdentity(private, public.decode() + " host@lab")
