"""Sign-in for the simulated tenant: credentials, signed session tokens, expiry.

A token is ``<issued µs>.<nonce>.<hmac>``, signed with a secret derived from the
data set's seed, so a simulator restarted with the same seed still accepts the
sessions a browser profile kept on disk. The server counts page requests per nonce
(for ``session_max_requests``) and can expire every session at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

COOKIE_NAME = "_coupa_session"
SIGN_IN_PATH = "/sessions/new"
DEFAULT_EMAIL = "buyer@example.com"
DEFAULT_PASSWORD = "coupa-sim"
# The REST API's OAuth clients (simulator/api/): one with every scope the API checks,
# one without core.requisition.read (for a client's missing-scope error).
API_SCOPES = ("core.purchase_order.read", "core.requisition.read", "core.common.read")
API_LIMITED_SCOPES = ("core.purchase_order.read", "core.common.read")
DEFAULT_API_CLIENT_ID = "coupa-sim-api"
DEFAULT_API_CLIENT_SECRET = "coupa-sim-api-secret"
DEFAULT_API_LIMITED_CLIENT_ID = "coupa-sim-api-no-requisitions"
DEFAULT_API_LIMITED_CLIENT_SECRET = "coupa-sim-api-no-requisitions-secret"


@dataclass(frozen=True)
class Credentials:
    email: str = DEFAULT_EMAIL
    password: str = DEFAULT_PASSWORD
    api_client_id: str = DEFAULT_API_CLIENT_ID
    api_client_secret: str = DEFAULT_API_CLIENT_SECRET
    api_limited_client_id: str = DEFAULT_API_LIMITED_CLIENT_ID
    api_limited_client_secret: str = DEFAULT_API_LIMITED_CLIENT_SECRET

    def matches(self, email: str, password: str) -> bool:
        email_ok = hmac.compare_digest(email.strip().lower(), self.email.lower())
        return email_ok & hmac.compare_digest(password, self.password)

    def api_clients(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """OAuth client id -> (secret, the scopes it may be granted)."""
        return {
            self.api_client_id: (self.api_client_secret, API_SCOPES),
            self.api_limited_client_id: (self.api_limited_client_secret, API_LIMITED_SCOPES),
        }

    def as_dict(self) -> dict[str, str]:
        return {
            "email": self.email,
            "password": self.password,
            "api_client_id": self.api_client_id,
            "api_client_secret": self.api_client_secret,
            "api_scopes": " ".join(API_SCOPES),
            "api_limited_client_id": self.api_limited_client_id,
            "api_limited_client_secret": self.api_limited_client_secret,
            "api_limited_scopes": " ".join(API_LIMITED_SCOPES),
        }


@dataclass(frozen=True)
class SessionState:
    valid: bool
    expires_in: float = 0.0


class Sessions:
    """Issues and checks session tokens; thread-safe (the test thread reads it too)."""

    def __init__(self, seed: int, clock: Callable[[], float] = time.time) -> None:
        self._secret = hashlib.sha256(f"coupa-sim-session:{seed}".encode()).digest()
        self._clock = clock
        self._lock = threading.Lock()
        self._requests: dict[str, int] = {}
        self._expired_nonces: set[str] = set()
        self._expired_before_us = 0  # tokens issued at or before this are expired

    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> str:
        issued_us = int(self._clock() * 1_000_000)
        payload = f"{issued_us}.{secrets.token_hex(8)}"
        return f"{payload}.{self._sign(payload)}"

    def _parse(self, token: str) -> tuple[int, str] | None:
        issued, _, rest = token.partition(".")
        nonce, _, signature = rest.partition(".")
        if not (issued.isdigit() and nonce and signature):
            return None
        if not hmac.compare_digest(signature, self._sign(f"{issued}.{nonce}")):
            return None
        return int(issued), nonce

    def check(
        self, token: str | None, *, ttl: float, max_requests: int | None, count: bool
    ) -> SessionState:
        """Is ``token`` a live session? ``count`` adds one page request to it first."""
        parsed = self._parse(token or "")
        if parsed is None:
            return SessionState(False)
        issued_us, nonce = parsed
        age = self._clock() - issued_us / 1_000_000
        with self._lock:
            if nonce in self._expired_nonces or issued_us <= self._expired_before_us:
                return SessionState(False)
            if age > ttl:
                return SessionState(False)
            used = self._requests.get(nonce, 0) + (1 if count else 0)
            if max_requests is not None and used > max_requests:
                self._expired_nonces.add(nonce)  # stays expired even if the limit is raised
                return SessionState(False)
            self._requests[nonce] = used
        return SessionState(True, expires_in=max(0.0, ttl - age))

    def expire_all(self) -> None:
        with self._lock:
            self._expired_before_us = int(self._clock() * 1_000_000)
