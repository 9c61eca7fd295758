"""Benchmark the guest CPU model the lab gives QEMU's TCG: ``max`` (every feature TCG can emulate) against
``qemu64`` (QEMU's baseline x86-64), on the work a lab host does most: the SSH ciphers the baseline's sshd
allows, ChaCha20 (TLS), SHA-512 (AIDE's baseline scan) and SHA-256.

TCG translates the same instructions in system and user mode, so ``qemu-x86_64 -cpu MODEL`` (package
``qemu-user``) runs this machine's own ``openssl speed`` as a lab guest with that model would, in seconds
instead of a VM boot. Prints throughput per model and the ratio; asserts nothing.
Usage: python bench/tcg_cpu.py [--models max,qemu64] [--seconds 2]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys

ALGORITHMS = ("aes-256-gcm", "aes-128-gcm", "chacha20-poly1305", "sha512", "sha256")
BLOCK = 16384  # bytes per operation: file and stream hashing, not tiny packets
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def throughput(qemu: str, model: str, algorithm: str, seconds: int) -> float:
    """MB/s of ``openssl speed -evp ALGORITHM`` run under TCG with ``-cpu MODEL``."""
    out = subprocess.run(
        [qemu, "-cpu", model, OPENSSL, "speed", "-seconds", str(seconds), "-bytes", str(BLOCK), "-evp", algorithm],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"^\S+\s+([\d.]+)k\s*$", out.strip().splitlines()[-1])
    if not match:
        raise RuntimeError(f"unexpected openssl output for {algorithm} on {model}: {out[-200:]}")
    return float(match.group(1)) / 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="max,qemu64", help="comma-separated QEMU CPU models (default: %(default)s)")
    parser.add_argument("--seconds", type=int, default=2, help="seconds per algorithm and model (default: 2)")
    args = parser.parse_args(argv)
    qemu = shutil.which("qemu-x86_64")
    if not qemu or not shutil.which(OPENSSL):
        print("tcg_cpu: needs qemu-x86_64 and openssl: apt-get install qemu-user openssl", file=sys.stderr)
        return 2
    models = [m for m in args.models.split(",") if m]
    print(f"{'algorithm':<20}" + "".join(f"{m + ' MB/s':>16}" for m in models) + f"{'ratio':>10}")
    for algorithm in ALGORITHMS:
        figures = [throughput(qemu, model, algorithm, args.seconds) for model in models]
        ratio = f"{figures[-1] / figures[0]:.1f}x" if figures[0] else "-"
        print(f"{algorithm:<20}" + "".join(f"{f:>16.1f}" for f in figures) + f"{ratio:>10}", flush=True)
    print(f"ratio = {models[-1]} / {models[0]} throughput (higher: {models[-1]} is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
