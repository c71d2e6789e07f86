"""OAuth 2.0 client credentials for the simulated REST API: clients, grants, tokens.

Tokens are random strings held in memory only (a restarted simulator knows none),
each with its client, granted scopes and expiry (``token_ttl`` when issued). For the
tests of a client: :meth:`ApiTokens.expire_all` ends every token now, and
:meth:`ApiTokens.revoke` makes every client's secret wrong and drops every token
until :meth:`ApiTokens.restore` (an administrator who revoked the client).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

_TOKEN_BYTES = 32
_FORGET_AFTER = 3600.0  # an expired token still answers "expired" this long, then "invalid"


@dataclass(frozen=True)
class Grant:
    """A token just issued, as the token endpoint reports it."""

    token: str
    expires_in: int
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class TokenCheck:
    """What a bearer token is worth: ``problem`` is "" when it is live."""

    problem: str  # "", "missing", "invalid" or "expired"
    client_id: str = ""
    scopes: frozenset[str] = frozenset()


class GrantError(ValueError):
    """A refused grant: ``code`` is the OAuth error (``invalid_client``, ``invalid_scope``)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def granted_scopes(requested: Iterable[str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The scopes asked for that the client may have, in ``allowed``'s order; all of
    ``allowed`` when none is asked for. GrantError when none of those asked is allowed."""
    wanted = set(requested)
    if not wanted:
        return allowed
    granted = tuple(scope for scope in allowed if scope in wanted)
    if not granted:
        raise GrantError("invalid_scope", "none of the requested scopes is allowed")
    return granted


class ApiTokens:
    """The tenant's OAuth clients and the tokens issued to them; thread-safe."""

    def __init__(
        self,
        clients: Mapping[str, tuple[str, tuple[str, ...]]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = dict(clients)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, frozenset[str], float]] = {}
        self._revoked = False

    def grant(self, client_id: str, secret: str, scope: str, ttl: float) -> Grant:
        """A token for the client, or GrantError (``invalid_client`` for a wrong id or
        secret, or while revoked)."""
        known = self._clients.get(client_id)
        # Compared even for an unknown id, so the answer takes as long either way.
        expected, allowed = known if known else ("\0", ())
        secret_ok = hmac.compare_digest(secret.encode(), expected.encode())
        with self._lock:
            if known is None or not secret_ok or self._revoked:
                raise GrantError("invalid_client", "unknown client or wrong secret")
        scopes = granted_scopes(scope.split(), allowed)
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        with self._lock:
            now = self._clock()
            self._tokens = {t: v for t, v in self._tokens.items() if v[2] > now - _FORGET_AFTER}
            self._tokens[token] = (client_id, frozenset(scopes), now + ttl)
        return Grant(token, max(0, int(ttl)), scopes)

    def check(self, token: str | None) -> TokenCheck:
        if not token:
            return TokenCheck("missing")
        with self._lock:
            entry = self._tokens.get(token)
            if entry is None:
                return TokenCheck("invalid")
            client_id, scopes, expires = entry
            if self._clock() >= expires:
                return TokenCheck("expired")
        return TokenCheck("", client_id, scopes)

    def expire_all(self) -> int:
        """Every token issued so far expires now (they answer "expired"); how many."""
        with self._lock:
            now = self._clock()
            live = [t for t, (_, _, expires) in self._tokens.items() if expires > now]
            for token in live:
                client_id, scopes, _ = self._tokens[token]
                self._tokens[token] = (client_id, scopes, now)
        return len(live)

    def revoke(self) -> None:
        """Every client's secret is wrong and every token unknown, until :meth:`restore`."""
        with self._lock:
            self._revoked = True
            self._tokens.clear()

    def restore(self) -> None:
        with self._lock:
            self._revoked = False

    @property
    def revoked(self) -> bool:
        with self._lock:
            return self._revoked
