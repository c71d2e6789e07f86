"""Coupa's native sign-in form (``/sessions/new``), as described in coupa-facts.md.

SSO tenants send an anonymous browser to an identity provider instead; the user
signs in there by hand in ``coupadl login``, so only the native form is automated.
"""

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
