"""A throwaway self-signed certificate for TLS tests (openssl, one day)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def self_signed(directory: Path, hostname: str) -> tuple[Path, Path]:
    """(certificate, key) PEM files for `hostname` in `directory`."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key),
         "-out", str(cert), "-subj", f"/CN={hostname}", "-addext", f"subjectAltName=DNS:{hostname}"],
        check=True, capture_output=True,
    )
    return cert, key
