"""Coupa's native sign-in form (``/sessions/new``) and its session poll, as described
in coupa-facts.md.

SSO tenants send an anonymous browser to an identity provider instead; the user
signs in there by hand in ``coupadl login``, so only the native form is automated.
"""

import json

EMAIL_SELECTOR = "#user_email"
PASSWORD_SELECTOR = "#user_password"
# The message the form shows when it refuses the email or password.
REFUSED_SELECTOR = ".flash_error, [role='alert']"

# Bytes only Coupa's sign-in page carries: a "file" holding them is that page,
# served because the session expired between listing and downloading.
_SIGN_IN_MARKERS = (b"user_password", b"/sessions/new")


def is_sign_in_document(head: bytes) -> bool:
    """True when the start of a downloaded file is Coupa's sign-in page."""
    return any(marker in head for marker in _SIGN_IN_MARKERS)


def session_poll_answer(content_type: str, text: str) -> bool | None:
    """Is the session alive, going by what ``/sessions/expiration_check`` answered?

    False when the answer names an ``expired_session_url`` (what an expired session
    gets, coupa-facts.md) or says ``expired: true``; True for any other JSON object;
    None when it is no JSON object, or carries an error: then ask another way. The
    facts do not show a live session's answer, hence "any other JSON object" (the
    simulator answers ``{"expired": false, "expires_in": ...}``).
    """
    if "json" not in content_type.lower():
        return None
    try:
        answer = json.loads(text)
    except ValueError:
        return None
    if not isinstance(answer, dict) or "error" in answer or "errors" in answer:
        return None
    return not (answer.get("expired_session_url") or answer.get("expired") is True)
