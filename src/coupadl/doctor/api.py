"""Doctor checks of the REST API route (engine ``api``): a token for the OAuth client,
the scopes a run needs, one PO list read. No browser takes part.

:func:`check_api` talks to Coupa through the API engine's own runtime (the token
endpoint and one small list GET, through the same politeness as a run); the verdicts
are pure functions of what came back, so each can be tested with fakes. Messages name
the client id, never the secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coupadl.coupa.api.paths import SCOPE_REQUISITION, missing_scopes
from coupadl.coupa.page import PageInfo, PageKind
from coupadl.doctor.result import Check, Level
from coupadl.errors import (
    ApiScopeError,
    AuthRequiredError,
    ConfigError,
    CoupadlError,
    RateLimitedError,
)
from coupadl.settings import EngineKind, Settings

_ADMIN = "your Coupa administrator (Setup > Integrations > OAuth2/OpenID Connect Clients)"
_NO_TOKEN = "not checked: no token"


def api_configured(settings: Settings) -> bool:
    """The API route is checked for engine 'api', or whenever a client id is set."""
    return settings.engine is EngineKind.API or bool((settings.api_client_id or "").strip())


@dataclass(frozen=True)
class ApiAnswers:
    """What the API said: the granted scopes (None: no token, ``token_error`` says why),
    and the PO list read: None (it answered), a page outcome, or an error."""

    client_id: str
    secret_source: str  # where the secret came from, in words (never the secret)
    granted: frozenset[str] | None = None
    token_error: CoupadlError | None = None
    read: PageInfo | CoupadlError | None = None


def token_check(answers: ApiAnswers, login: str) -> Check:
    client = answers.client_id or "(none)"
    error = answers.token_error
    if error is None:
        return Check(
            "api",
            Level.OK,
            f"Coupa granted OAuth client {client} a token (secret from {answers.secret_source})",
        )
    if isinstance(error, AuthRequiredError):
        advice = (
            f"check the client id, store its secret again with '{login}' (or correct "
            f"COUPA_API_CLIENT_SECRET); if both are right, ask {_ADMIN} whether the "
            "client is still active"
        )
    elif isinstance(error, ApiScopeError):
        advice = f"ask {_ADMIN} to grant the client the scopes in api_scopes"
    elif isinstance(error, ConfigError):
        advice = (
            f"run '{login}' (the secret goes to the credential store), or set "
            "COUPA_API_CLIENT_ID and COUPA_API_CLIENT_SECRET"
        )
    else:
        advice = "check the network route to the tenant (the tenant row), then try again"
    return Check("api", Level.FAIL, f"[{error.code}] {error.message}", advice)


def scopes_check(answers: ApiAnswers, settings: Settings, needed: list[str]) -> Check:
    """Each scope a run needs, granted or missing."""
    if answers.granted is None:
        return Check("scopes", Level.SKIP, _NO_TOKEN)
    missing = missing_scopes(answers.granted, needed)
    detail = ", ".join(f"{s} {'missing' if s in missing else 'ok'}" for s in needed)
    if not missing:
        return Check("scopes", Level.OK, detail)
    names = " ".join(missing)
    advice = f"ask {_ADMIN} to grant OAuth client {answers.client_id} {names}"
    not_asked = [s for s in missing if s not in settings.api_scopes.split()]
    if not_asked:
        advice += f", and add {' '.join(not_asked)} to api_scopes (it is not asked for)"
    if missing == [SCOPE_REQUISITION]:
        advice += "; or set requisition_fallback = never (no requisition is read)"
    return Check("scopes", Level.FAIL, f"{detail}: a run stops (E_API_SCOPE)", advice)


def read_check(answers: ApiAnswers) -> Check:
    """The one PO list read."""
    if answers.granted is None:
        return Check("po_list", Level.SKIP, _NO_TOKEN)
    read = answers.read
    client = answers.client_id
    if read is None:
        return Check("po_list", Level.OK, f"OAuth client {client} read a page of the PO list")
    if isinstance(read, PageInfo):
        if read.kind is PageKind.ACCESS_DENIED:
            return Check(
                "po_list",
                Level.FAIL,
                f"the Coupa API lets OAuth client {client} read no purchase orders (HTTP 403)",
                f"ask {_ADMIN} to give the client access to purchase orders",
            )
        if read.kind is PageKind.NOT_FOUND:
            return Check(
                "po_list",
                Level.FAIL,
                "the tenant has no /api/purchase_orders (HTTP 404)",
                "check --base-url: it is the tenant's address, https://<company>.coupahost.com",
            )
        busy = f"the PO list answered {read.title}"
        return Check("po_list", Level.WARN, busy, "Coupa is busy or down: try again later")
    if isinstance(read, ApiScopeError):
        return Check(
            "po_list",
            Level.FAIL,
            f"[{read.code}] {read.message}",
            f"ask {_ADMIN} to grant the client that scope",
        )
    if isinstance(read, RateLimitedError):
        return Check(
            "po_list", Level.WARN, read.message, "Coupa limited the request rate: try again later"
        )
    return Check(
        "po_list",
        Level.FAIL,
        f"[{read.code}] {read.message}",
        "check the client's access and the network route to the tenant, then try again",
    )


def ask_api(settings: Settings) -> ApiAnswers:
    """A token and one PO list read, through the API engine's runtime."""
    from coupadl.engine.api.records import ApiRecords
    from coupadl.engine.api.runtime import acquire, release

    client_id = (settings.api_client_id or "").strip()
    source = "the settings" if settings.api_client_secret is not None else "the credential store"
    try:
        runtime = acquire(settings)  # ConfigError: no client id, no secret
    except CoupadlError as exc:
        return ApiAnswers(client_id, source, token_error=exc)
    try:
        try:
            granted = runtime.tokens.granted()
        except CoupadlError as exc:
            return ApiAnswers(client_id, source, token_error=exc)
        try:
            read: PageInfo | CoupadlError | None = ApiRecords(runtime).probe()
        except CoupadlError as exc:
            read = exc
        return ApiAnswers(client_id, source, granted, read=read)
    finally:
        release(runtime)


def check_api(settings: Settings, ask: Callable[[Settings], ApiAnswers] = ask_api) -> list[Check]:
    """The token, scopes and PO list rows (empty when the API route is not configured)."""
    if not api_configured(settings):
        return []
    from coupadl.engine.api.prepare import needed_scopes  # what a run stops without

    login = "coupadl login --api" + (
        f" --base-url {settings.base_url}" if settings.base_url else ""
    )
    if settings.api_client_id:
        login += f" --api-client-id {settings.api_client_id}"
    if not settings.base_url:
        answers = ApiAnswers(
            settings.api_client_id or "", "", token_error=ConfigError("no Coupa URL set")
        )
    else:
        answers = ask(settings)
    return [
        token_check(answers, login),
        scopes_check(answers, settings, needed_scopes(settings)),
        read_check(answers),
    ]
