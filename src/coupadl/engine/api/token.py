"""The OAuth 2.0 access token of the REST API engine (client credentials grant).

One :class:`TokenSource` per process: every request asks it for the bearer token; it
fetches one from ``POST {base}/oauth2/token`` when there is none or the one it has is
about to expire (``expires_in``), and fetches a new one once when a request's answer
is 401. The token and the client secret live in memory only and never reach a log,
an exception or a file: messages name the client id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from coupadl.coupa.api.paths import token_url
from coupadl.engine.http.answers import host_of
from coupadl.errors import ApiScopeError, AuthRequiredError, NetworkError

log = logging.getLogger(__name__)

# A token is renewed when less than this share of its life (or a minute) is left, so
# that a long download never starts with a token about to run out.
_RENEW_SHARE = 0.1
_RENEW_SECONDS = 60.0


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str  # never logged, never in a message
    scopes: str  # space-separated


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # time.monotonic()
    lifetime: float
    scopes: frozenset[str]

    def __repr__(self) -> str:  # the value is a credential
        return f"Token(expires in {self.expires_at - time.monotonic():.0f} s)"

    def fresh(self, now: float) -> bool:
        left = self.expires_at - now
        return left > max(_RENEW_SECONDS if self.lifetime > 4 * _RENEW_SECONDS else 0.0,
                          _RENEW_SHARE * self.lifetime)  # fmt: skip


class TokenSource:
    """Thread-safe: one token fetch at a time; threads asking meanwhile wait for it."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        post: Callable[..., httpx.Response],
        retry: Callable[[httpx.Response, int], bool] = lambda answer, attempt: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = token_url(base_url)
        self.credentials = credentials
        self._post = post  # the shared client's post, through the politeness
        # retry(answer, attempt): whether to ask again after a 429 or 5xx (having
        # waited as it should); the runtime's, which knows the gate and the backoff.
        self._retry = retry
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Token | None = None
        self.fetched = 0  # tokens fetched so far (the report and tests count them)

    @property
    def client_id(self) -> str:
        return self.credentials.client_id

    def bearer(self) -> str:
        """A token that is not about to expire."""
        with self._lock:
            token = self._token
            if token is None or not token.fresh(self._clock()):
                token = self._token = self._fetch()
            return token.value

    def refused(self, value: str) -> None:
        """A request's answer was 401 with ``value``: the next :meth:`bearer` fetches
        a new token (unless another thread already did)."""
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None

    def granted(self) -> frozenset[str]:
        """The scopes of the current token (fetching one if needed)."""
        self.bearer()
        with self._lock:
            return self._token.scopes if self._token is not None else frozenset()

    def _fetch(self) -> Token:
        asked = self.credentials.scopes.split()
        form = {
            "grant_type": "client_credentials",
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret,
            "scope": " ".join(asked),
        }
        attempt = 0
        while True:
            try:
                answer = self._post(self.url, data=form, headers={"Accept": "application/json"})
            except httpx.TransportError as exc:
                raise NetworkError(
                    f"the Coupa API's token endpoint on {host_of(self.url)} could not be "
                    f"reached ({type(exc).__name__})"
                ) from exc
            attempt += 1
            busy = answer.status_code == 429 or answer.status_code >= 500
            if not busy or not self._retry(answer, attempt):
                break
        token = self._read(answer, asked)
        self.fetched += 1
        log.info(
            "Coupa API token for client %s: valid %.0f s, scopes %s",
            self.client_id, token.lifetime, " ".join(sorted(token.scopes)) or "(none named)",
        )  # fmt: skip
        return token

    def _read(self, answer: httpx.Response, asked: list[str]) -> Token:
        status = answer.status_code
        body = _json(answer)
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        if status in (400, 401) and error == "invalid_scope":
            raise ApiScopeError(
                f"the Coupa API gives client {self.client_id} none of the scopes asked for "
                f"({' '.join(asked)}): ask your Coupa administrator to grant them"
            )
        if status in (400, 401, 403):
            raise AuthRequiredError(
                f"the Coupa API refused the OAuth client {self.client_id} (HTTP {status}"
                f"{', ' + error if error else ''}): check api_client_id and "
                "api_client_secret, or ask your Coupa administrator whether the client "
                "is still active"
            )
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise NetworkError(
                f"the Coupa API's token endpoint answered HTTP {status} without a token"
            )
        lifetime = float(body.get("expires_in") or 3600)
        # An answer without "scope" grants what was asked (RFC 6749, 5.1).
        scopes = frozenset(str(body.get("scope") or " ".join(asked)).split())
        return Token(str(body["access_token"]), self._clock() + lifetime, lifetime, scopes)


def _json(answer: httpx.Response) -> object:
    try:
        return answer.json()
    except ValueError:
        return None
