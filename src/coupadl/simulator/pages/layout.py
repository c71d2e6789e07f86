"""The frame every page shares: ``<head>`` with CSRF meta and scripts, the nav, the body.

Every name and attribute goes through :func:`esc` (:func:`html.escape`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape

from coupadl.simulator.pages.assets import (
    APPLICATION_CSS_PATH,
    APPLICATION_JS_PATH,
    INLINE_SCRIPTS,
    LATE_SCRIPTS,
    VENDOR_JS,
)


def esc(text: object) -> str:
    return escape(str(text), quote=True)


@dataclass(frozen=True)
class PageContext:
    """What every page needs from the request and the live knobs."""

    base: str  # scheme://host[:port], no trailing slash
    csrf_token: str = ""
    script_delay: float = 2.0
    check_interval: float = 5.0


def _scripts(ctx: PageContext) -> str:
    late = [
        f"/assets/analytics-{n}.js?delay={ctx.script_delay:g}" for n in range(1, LATE_SCRIPTS + 1)
    ]
    tags = [f'<script src="{APPLICATION_JS_PATH}" defer></script>']
    tags += [f'<script src="{path}" defer></script>' for path in VENDOR_JS]
    tags.append(f'<script type="application/json" id="late-scripts">{json.dumps(late)}</script>')
    tags += [
        f"<script>window.CoupaFlags = window.CoupaFlags || {{}}; "
        f"window.CoupaFlags.flag{n} = {str(n % 3 == 0).lower()};</script>"
        for n in range(INLINE_SCRIPTS)
    ]
    return "\n".join(tags)


_NAV = (
    '<div id="header"><nav id="main_nav" aria-label="Main"><ul>'
    '<li><a href="/">Home</a></li>'
    '<li><a href="/requisition_headers">Requests</a></li>'
    '<li><a href="/order_headers">Orders</a></li>'
    "</ul></nav></div>"
)


def layout(
    ctx: PageContext,
    *,
    title: str,
    body: str,
    controller: str,
    action: str,
    data_id: str = "",
    lang: str = "en",
    scripts: bool = True,
) -> str:
    """The whole page: ``<head>`` (CSRF, session poll, stylesheet, scripts), nav, ``body``."""
    id_attr = f' data-id="{esc(data_id)}"' if data_id else ""
    head = [
        '<meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        '<meta name="csrf-param" content="authenticity_token">',
        f'<meta name="csrf-token" content="{esc(ctx.csrf_token)}">',
        f'<meta name="session-check-interval" content="{ctx.check_interval:g}">',
        f'<link rel="stylesheet" href="{APPLICATION_CSS_PATH}">',
    ]
    if scripts:
        head.append(_scripts(ctx))
    return (
        f'<!DOCTYPE html>\n<html data-controller="{esc(controller)}" data-action="{esc(action)}"'
        f'{id_attr} lang="{esc(lang)}">\n<head>\n' + "\n".join(head) + "\n</head>\n"
        f'<body class="{esc(controller)} {esc(action)}">\n{_NAV}\n{body}\n</body>\n</html>\n'
    )
