"""Which hosts may serve a file: the tenant's (from ``base_url``) and the configured
``file_hosts``. Every engine asks before it fetches a file and at every redirect hop;
what came from anywhere else would be saved in the user's folders as if Coupa had sent
it."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

# Schemes of content the page itself made: no host involved.
_LOCAL_SCHEMES = frozenset({"data", "blob", "about"})


def redact(url: str) -> str:
    """``url`` without credentials, query or fragment: signed file URLs carry secrets."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else url[:200]


class HostPolicy:
    """Which hosts may serve a download: the tenant's and the configured file hosts."""

    def __init__(self, base_url: str, file_hosts: Sequence[str] = ()) -> None:
        self.tenant = (urlsplit(base_url).hostname or "").lower()
        self.file_hosts = tuple(h.lower() for h in file_hosts)

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if host == self.tenant:
            return True
        for pattern in self.file_hosts:
            if pattern.startswith("*."):
                if host.endswith(pattern[1:]):
                    return True
            elif host == pattern:
                return True
        return False

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in _LOCAL_SCHEMES:
            return True
        if scheme not in ("http", "https"):
            return False
        return self.host_allowed(parts.hostname or "")

    def refusal(self, url: str) -> str:
        """Why ``url`` may not serve a download, for messages and logs."""
        host = urlsplit(url).hostname or url[:60]
        return (
            f"{host} is not the tenant's host ({self.tenant}) or a configured file host "
            f"(file_hosts: {', '.join(self.file_hosts) or 'none'})"
        )
