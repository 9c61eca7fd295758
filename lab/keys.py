"""ED25519 key pairs (OpenSSH formats) generated with the ``cryptography`` library."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass(frozen=True)
class KeyPair:
    """An OpenSSH private key (PEM-like block) and its one-line public key (``ssh-ed25519 AAAA...``)."""

    private_openssh: str
    public_openssh: str

    def __repr__(self) -> str:  # never show the private key in logs or tracebacks
        return f"KeyPair(public_openssh={self.public_openssh!r})"


def generate_ed25519(comment: str = "") -> KeyPair:
    """Generate a fresh ED25519 key pair; ``comment`` is appended to the public key."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    if comment:
        public = f"{public} {comment}"
    return KeyPair(private_openssh=private, public_openssh=public)


def known_hosts_line(host: str, port: int, public_openssh: str) -> str:
    """A known_hosts entry pinning ``public_openssh`` for ``host``:``port`` (comment dropped)."""
    keytype, blob = public_openssh.split()[:2]
    name = host if port == 22 else f"[{host}]:{port}"
    return f"{name} {keytype} {blob}\n"
