"""The native sign-in form (``/sessions/new``), with its error flash after a failed try."""

from __future__ import annotations

from coupadl.simulator.pages.layout import PageContext, esc, layout


def render_sign_in(ctx: PageContext, return_to: str, *, error: str = "", email: str = "") -> str:
    flash = f'<div class="flash_error" role="alert">{esc(error)}</div>' if error else ""
    body = (
        f'<div id="page" class="sign_in">{flash}<h1>Sign in to Coupa</h1>'
        '<form id="new_session" class="new_user" action="/sessions" accept-charset="UTF-8" '
        'method="post">'
        f'<input type="hidden" name="authenticity_token" value="{esc(ctx.csrf_token)}">'
        f'<input type="hidden" name="return_to" value="{esc(return_to)}">'
        '<label for="user_email">Email</label>'
        f'<input type="email" id="user_email" name="user[email]" autocomplete="username" '
        f'value="{esc(email)}">'
        '<label for="user_password">Password</label>'
        '<input type="password" id="user_password" name="user[password]" '
        'autocomplete="current-password">'
        '<button type="submit" id="sign_in_button" name="commit" class="button">Sign In</button>'
        "</form></div>"
    )
    return layout(ctx, title="Coupa Sign In", body=body, controller="sessions", action="new",
                  scripts=False)  # fmt: skip
