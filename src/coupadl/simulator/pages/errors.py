"""Error pages: not found (in the user's language), access denied, 500 and 429."""

from __future__ import annotations

from coupadl.simulator.pages.layout import PageContext, esc, layout

_NOT_FOUND_TEXT = {
    "en": ("Oops! We couldn't find what you wanted",
           "The page you were looking for doesn't exist. You may have mistyped the address "
           "or the page may have moved."),
    "pt": ("Desculpe, não encontramos o que você procurava",
           "A página que você procurava não existe. Verifique o endereço."),
}  # fmt: skip


def render_not_found(ctx: PageContext, lang: str = "en") -> str:
    heading, text = _NOT_FOUND_TEXT.get(lang, _NOT_FOUND_TEXT["en"])
    body = (
        f'<div id="page"><div id="error_explanation"><h1>{esc(heading)}</h1>'
        f"<p>{esc(text)}</p></div></div>"
    )
    return layout(ctx, title="Coupa", body=body, controller="errors", action="not_found",
                  lang="pt-BR" if lang == "pt" else "en")  # fmt: skip


def render_denied(ctx: PageContext) -> str:
    body = (
        '<div class="flash_error" role="alert">You are not authorized to view this page. '
        "Access denied.</div>"
        '<div id="page"><h1 id="pageHeader"> Home </h1><p>Welcome back.</p></div>'
    )
    return layout(ctx, title="Coupa", body=body, controller="user_home", action="index")


SERVER_ERROR_HTML = (
    "<!DOCTYPE html>\n<html><head><title>We're sorry, but something went wrong (500)</title>"
    '</head><body><div class="dialog"><h1>We\'re sorry, but something went wrong.</h1>'
    "</div></body></html>\n"
)


def render_too_many_requests(retry_after: int) -> str:
    """The 429 page. A browser cannot read the Retry-After header, so the page says the
    wait too (what real Coupa's 429 body says is not known: coupa-facts.md)."""
    return (
        "<!DOCTYPE html>\n<html><head><title>Too Many Requests (429)</title></head><body>"
        "<h1>Too Many Requests</h1><p>Retry later.</p>"
        f"<p>Please wait {retry_after} seconds before trying again.</p></body></html>\n"
    )
