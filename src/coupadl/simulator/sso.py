"""SSO mode of the simulated tenant: a fake SAML identity provider on another host name.

Real SSO tenants send an anonymous browser to an identity provider on another host
(login.microsoftonline.com, Okta, ...), where the person signs in; the IdP then posts a
signed assertion back to the tenant (an auto-submitting form), which starts a session.
With the ``sso_after`` knob set, the simulator does the same on loopback: the IdP pages
are served by the same server under another host name (``localhost`` when the tenant
is ``127.0.0.1``, and the other way round), so the browser sees a different host with
its own cookies. The IdP page signs in by itself ``sso_after`` seconds after it loads,
like a person who finished typing. The native ``/sessions/new`` form keeps working.

The assertion carries a ``NotBefore`` of issue time + ``sso_after``: posting it earlier
(a client that skips the wait) is refused, as a real tenant refuses an assertion that
is not yet valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from coupadl.simulator.auth import COOKIE_NAME

log = logging.getLogger(__name__)

IDP_PATH = "/idp/saml2"  # on the IdP host name
ACS_PATH = "/sso/saml/consume"  # on the tenant: where the IdP posts the assertion
_ASSERTION_LIFETIME = 300.0  # seconds an assertion stays usable after NotBefore
_LOOPBACK_NAMES = ("127.0.0.1", "localhost")


@dataclass
class SsoRecord:
    """What happened in SSO mode, for tests: IdP pages shown, sign-ins completed."""

    idp_pages: int = 0
    logins: int = 0
    rejected: int = 0
    # time.monotonic() of each completed sign-in (the same clock as the test process).
    completed_at: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_page(self) -> None:
        with self._lock:
            self.idp_pages += 1

    def add_login(self) -> None:
        with self._lock:
            self.logins += 1
            self.completed_at.append(time.monotonic())

    def add_rejected(self) -> None:
        with self._lock:
            self.rejected += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "idp_pages": self.idp_pages,
                "logins": self.logins,
                "rejected": self.rejected,
                "completed_at": list(self.completed_at),
            }


class Assertions:
    """Signs and checks the IdP's assertions (HMAC, seeded like the session tokens)."""

    def __init__(self, seed: int) -> None:
        self._secret = hashlib.sha256(f"coupa-sim-idp:{seed}".encode()).digest()
        self._used: set[str] = set()
        self._lock = threading.Lock()

    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self, email: str, not_before: float) -> str:
        body = json.dumps({"sub": email, "nbf": not_before, "id": secrets.token_hex(8)})
        payload = base64.urlsafe_b64encode(body.encode()).decode()
        return f"{payload}.{self._sign(payload)}"

    def check(self, token: str, now: float) -> str:
        """The problem with ``token`` ("" when it is good); a good token is used up."""
        payload, _, signature = token.partition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return "the assertion's signature is invalid"
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
            not_before, token_id = float(claims["nbf"]), str(claims["id"])
        except (ValueError, KeyError, TypeError):
            return "the assertion is malformed"
        if now < not_before:
            return "the assertion is not yet valid (NotBefore)"
        if now > not_before + _ASSERTION_LIFETIME:
            return "the assertion has expired"
        with self._lock:
            if token_id in self._used:
                return "the assertion was already used"
            self._used.add(token_id)
        return ""


@dataclass
class SsoState:
    assertions: Assertions
    record: SsoRecord = field(default_factory=SsoRecord)


def make_state(seed: int) -> SsoState:
    return SsoState(Assertions(seed))


def _sso(request: Request) -> SsoState:
    return request.app.state.sso


def _sim(request: Request) -> Any:
    return request.app.state.sim


def other_host(hostname: str) -> str:
    """The IdP's host name: the other loopback name than the tenant's."""
    return _LOOPBACK_NAMES[0] if hostname.lower() == _LOOPBACK_NAMES[1] else _LOOPBACK_NAMES[1]


def _origin(scheme: str, host: str, port: int | None) -> str:
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def redirect_to_idp(request: Request, return_to: str) -> Response:
    """Send an anonymous browser to the IdP, like an SSO tenant does."""
    url = request.url
    tenant = _origin(url.scheme, url.hostname or _LOOPBACK_NAMES[0], url.port)
    idp = _origin(url.scheme, other_host(url.hostname or ""), url.port)
    # A real SAMLRequest is a deflated XML AuthnRequest; this one carries just the ACS URL.
    request_doc = json.dumps({"acs": tenant + ACS_PATH}).encode()
    query = urlencode(
        {
            "SAMLRequest": base64.urlsafe_b64encode(request_doc).decode(),
            "RelayState": return_to,
        }
    )
    return RedirectResponse(f"{idp}{IDP_PATH}?{query}", 302)


def _acs_from(saml_request: str, request: Request) -> str | None:
    """The ACS URL of a SAMLRequest, only this server's consumer (same scheme and port)."""
    try:
        acs = str(json.loads(base64.urlsafe_b64decode(saml_request.encode()))["acs"])
        parts = urlsplit(acs)
        same_server = parts.scheme == request.url.scheme and parts.port == request.url.port
    except (ValueError, KeyError, TypeError):  # includes a malformed port
        return None
    return acs if same_server and parts.path == ACS_PATH else None


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n<body>{body}</body></html>\n"
    )
    return HTMLResponse(html, status)


async def idp_page(request: Request) -> Response:
    """The IdP's sign-in page: signs the user in by itself after ``sso_after`` seconds."""
    sim = _sim(request)
    delay = sim.faults.knobs.sso_after
    acs = _acs_from(request.query_params.get("SAMLRequest", ""), request)
    if acs is None:
        return _page("Sign in to your account", "<h1>Bad SAML request</h1>", 400)
    delay = 0.0 if delay is None else float(delay)
    state = _sso(request)
    state.record.add_page()
    email = sim.credentials.email
    token = state.assertions.issue(email, time.time() + delay)
    relay = request.query_params.get("RelayState", "/")
    # Submit slightly after NotBefore so clock rounding never makes it "not yet valid".
    wait_ms = math.ceil(delay * 1000) + 50
    body = (
        '<div id="idp-signin"><h1>Sign in</h1>'
        f'<p id="idp-status">Simulated identity provider: signing in {escape(email)} '
        f"in {delay:g} s, as if you had just typed your password.</p>"
        f'<form id="saml-post" method="post" action="{escape(acs)}">'
        f'<input type="hidden" name="SAMLResponse" value="{escape(token)}">'
        f'<input type="hidden" name="RelayState" value="{escape(relay)}">'
        "<noscript><button type=submit>Continue</button></noscript></form></div>"
        "<script>window.setTimeout(function () {"
        f" document.getElementById('saml-post').submit(); }}, {wait_ms});</script>"
    )
    return _page("Sign in to your account", body)


def _safe_relay(value: str) -> str:
    if not value.startswith("/") or value.startswith(("//", "/\\", "/sessions", "/sso")):
        return "/"
    return value


async def acs(request: Request) -> Response:
    """The tenant's assertion consumer: a valid assertion starts a session."""
    sim = _sim(request)
    state = _sso(request)
    form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    token = form.get("SAMLResponse", [""])[0]
    relay = _safe_relay(form.get("RelayState", ["/"])[0])
    problem = state.assertions.check(token, time.time())
    if problem:
        state.record.add_rejected()
        log.info("simulator SSO: assertion refused: %s", problem)
        return _page("Coupa", f'<div class="flash_error">{escape(problem)}</div>', 403)
    state.record.add_login()
    sim.stats.add("logins")
    response = RedirectResponse(relay, 302)
    max_age = max(1, math.ceil(sim.faults.knobs.session_ttl))
    # Persistent (Max-Age), like the native form's cookie, so it survives on disk.
    response.set_cookie(COOKIE_NAME, sim.sessions.issue(), max_age=max_age, httponly=True,
                        path="/", samesite="lax")  # fmt: skip
    return response
