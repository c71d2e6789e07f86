"""``coupadl login --api``: check an OAuth client's secret with Coupa, then keep it in
the operating system's credential store (through ``keyring``) for engine 'api'.

The secret comes from COUPA_API_CLIENT_SECRET (or the config file) or a hidden prompt;
it is stored only once Coupa granted a token for it. A missing scope is a warning, not
an error: the secret is right and is kept, a run stops with E_API_SCOPE until the
administrator grants the scope, and ``coupadl doctor`` shows which ones are missing.
Nothing here prints, logs or raises the secret.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from pydantic import SecretStr

from coupadl.cli.common import console, fail, settings_from
from coupadl.errors import ConfigError, CoupadlError
from coupadl.settings import Settings

NO_STORE = (
    "there is no operating-system credential store here (keyring found no backend; a "
    "Linux server often has no Secret Service): nothing was stored. Set "
    "COUPA_API_CLIENT_SECRET in the environment of each run instead"
)


def login_api(config: Path | None, *, base_url: str | None, api_client_id: str | None) -> None:
    """The whole command; raises typer.Exit with its code."""
    from coupadl.engine.api.secret import account, credential_store, store_secret

    try:
        settings = settings_from(config, base_url=base_url, api_client_id=api_client_id)
        base = settings.require_base_url()
        client_id = (settings.api_client_id or "").strip()
        if not client_id:
            raise ConfigError("pass --api-client-id (or set COUPA_API_CLIENT_ID)")
        store = credential_store()
        if store is None:  # before asking for the secret: it could not be kept
            raise ConfigError(NO_STORE)
        secret = _secret(settings, client_id)
    except CoupadlError as exc:
        raise fail(exc) from None
    try:
        missing = _check_token(settings, secret)
        store_secret(base, client_id, secret)
    except CoupadlError as exc:
        refused = fail(exc)
        console.print("Nothing was stored.")
        raise refused from None
    console.print(
        f"[green]Checked with Coupa and stored[/] the secret of OAuth client {client_id} "
        f"in the operating system's credential store ({store}; service 'coupadl-api', "
        f"account '{account(base, client_id)}').",
        highlight=False,
        soft_wrap=True,
    )
    if missing:
        console.print(
            f"[yellow]warning[/] [E_API_SCOPE] the client was not granted {' '.join(missing)}: "
            "a run stops until your Coupa administrator grants it (see 'coupadl doctor').",
            highlight=False,
            soft_wrap=True,
        )


def _secret(settings: Settings, client_id: str) -> str:
    """COUPA_API_CLIENT_SECRET (or the config file), else a hidden prompt on a terminal."""
    if settings.api_client_secret is not None:
        secret = settings.api_client_secret.get_secret_value()
    elif sys.stdin.isatty():
        secret = typer.prompt(f"Secret of OAuth client {client_id}", hide_input=True)
    else:
        raise ConfigError(
            "no secret: run 'coupadl login --api' in a terminal to type it, or set "
            "COUPA_API_CLIENT_SECRET"
        )
    secret = secret.strip()
    if not secret:
        raise ConfigError(f"an empty secret for OAuth client {client_id}: nothing was stored")
    return secret


def _check_token(settings: Settings, secret: str) -> list[str]:
    """A token for the client with ``secret`` (the errors of a run's token: refused,
    no scope, no answer); the scopes a run needs that were not granted."""
    from coupadl.coupa.api.paths import missing_scopes
    from coupadl.engine.api.prepare import needed_scopes
    from coupadl.engine.api.runtime import acquire, release

    checked = settings.model_copy(update={"api_client_secret": SecretStr(secret)})
    runtime = acquire(checked)
    try:
        granted = runtime.tokens.granted()
    finally:
        release(runtime)
    return missing_scopes(granted, needed_scopes(settings))
