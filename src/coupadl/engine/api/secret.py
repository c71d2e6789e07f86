"""Where the OAuth client's secret comes from: the settings (a flag, the environment,
the config file), else the operating system's credential store through ``keyring``
(Windows Credential Manager, the macOS keychain, the Secret Service on Linux), where
``coupadl login --api`` puts it. The secret is never written anywhere else.
"""

from __future__ import annotations

import logging

from coupadl.errors import ConfigError
from coupadl.settings import Settings

log = logging.getLogger(__name__)

KEYRING_SERVICE = "coupadl-api"


def _account(base_url: str, client_id: str) -> str:
    # One tenant's client is not another's: the store is keyed by both.
    return f"{base_url.rstrip('/')} {client_id}"


def account(base_url: str, client_id: str) -> str:
    """The credential store's account name for this tenant's client (no secret)."""
    return _account(base_url, client_id)


def credential_store() -> str | None:
    """The name of the credential store ``keyring`` would use, or None when there is
    none (its "fail" backend: e.g. a Linux server without a Secret Service)."""
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return None
    return str(getattr(backend, "name", "") or type(backend).__name__)


def stored_secret(base_url: str, client_id: str) -> str | None:
    """The secret the credential store holds for this tenant and client, or None
    (also when no credential store is available: logged)."""
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(KEYRING_SERVICE, _account(base_url, client_id))
    except KeyringError as exc:
        log.info("no operating-system credential store to read the API secret from (%s)", exc)
        return None


def store_secret(base_url: str, client_id: str, secret: str) -> None:
    """Keep ``secret`` in the credential store; :class:`ConfigError` when there is none."""
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, _account(base_url, client_id), secret)
    except KeyringError as exc:
        raise ConfigError(
            f"the operating system's credential store could not keep the API secret ({exc}); "
            "set COUPA_API_CLIENT_SECRET instead"
        ) from None


def client_secret(settings: Settings, client_id: str) -> str:
    """The secret of ``client_id``; :class:`ConfigError` when none is configured."""
    if settings.api_client_secret is not None:
        return settings.api_client_secret.get_secret_value()
    stored = stored_secret(settings.require_base_url(), client_id)
    if stored:
        return stored
    raise ConfigError(
        f"no secret for the OAuth client {client_id}: set api_client_secret "
        "(COUPA_API_CLIENT_SECRET) or store it with 'coupadl login --api'"
    )
