"""Does the storage endpoint answer HTTP at all? A bounded probe before an engine is started.

A Swift (or its S3 API) that accepts connections and never answers is worse than one that is
down: restic 0.14 has no per-request deadline and waits until the agent's run timeout, and
pgBackRest retries each request until ``io-timeout``. One plain HTTP request with a short
deadline tells "down", "hung" and "answering" apart before any engine runs. Any HTTP status
counts as an answer (the probe sends no credentials); only silence or a failed handshake fails.
"""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from .errors import StorageUnavailableError

PROBE_TIMEOUT_SECONDS = 15.0


def http_answers(
    host: str,
    port: int,
    *,
    tls: bool,
    what: str,
    ca_file: Path | None = None,
    verify_tls: bool = True,
    timeout: float = PROBE_TIMEOUT_SECONDS,
) -> None:
    """Send ``GET /info`` to ``host:port``; raise :class:`StorageUnavailableError` naming ``what`` unless
    an HTTP status line comes back (``timeout`` seconds for each of connect, handshake and answer)."""
    where = f"{what} {host}:{port}"
    if tls:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        if not verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/info", headers={"User-Agent": "ccsec-backup-probe"})
        conn.getresponse().read(65536)
    except TimeoutError as exc:
        raise StorageUnavailableError(
            f"{where} unavailable: it accepted the connection but sent no answer within {timeout:.0f}s "
            "(hung proxy or overloaded storage); nothing was backed up"
        ) from exc
    except ssl.SSLError as exc:
        raise StorageUnavailableError(f"{where} unavailable: TLS handshake failed: {exc.reason or exc}") from exc
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise StorageUnavailableError(f"{where} unavailable: {reason}") from exc
    finally:
        conn.close()


def url_answers(url: str, *, what: str, ca_file: Path | None = None, timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
    """:func:`http_answers` for an ``http(s)://host[:port]/...`` URL such as Swift's auth URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StorageUnavailableError(f"{what}: {url!r} is not an http(s) URL")
    tls = parts.scheme == "https"
    try:
        port = parts.port or (443 if tls else 80)
    except ValueError as exc:
        raise StorageUnavailableError(f"{what}: {url!r} has an invalid port") from exc
    http_answers(parts.hostname, port, tls=tls, what=what, ca_file=ca_file, timeout=timeout)
