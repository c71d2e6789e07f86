"""Coupa's native sign-in form (``/sessions/new``), as described in coupa-facts.md.

SSO tenants send an anonymous browser to an identity provider instead; the user
signs in there by hand in ``coupadl login``, so only the native form is automated.
"""

EMAIL_SELECTOR = "#user_email"
PASSWORD_SELECTOR = "#user_password"
