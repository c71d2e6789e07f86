"""Text for ``report.html``: hostile names made harmless, sizes and times made readable,
and data embedded in a ``<script type="application/json">`` that cannot break out.

Supplier and file names come from Coupa. Bidi overrides and zero-width marks would
hide or reorder what is around them, C0/C1 controls are not allowed in HTML: they are
shown as visible ``U+XXXX`` codes instead (the page's script uses the same pattern).
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from markupsafe import Markup, escape

HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Inside a JSON text these can only stand in strings, where \uXXXX means the same:
# "<" (no "</script>" or "<!--"), ">" and "&", the line separators, lone surrogates
# (not encodable in UTF-8) and the hidden characters (never raw in the page).
_JSON_UNSAFE = re.compile("[<>&\u2028\u2029\ud800-\udfff]|" + HIDDEN.pattern)


def visible(value: object) -> str:
    """Plain text (an attribute, an ``<option>``) with hidden characters as codes."""
    return HIDDEN.sub(lambda m: f"U+{ord(m.group()):04X}", str(value))


def marked(value: object) -> Markup:
    """Element content: escaped, hidden characters shown as marked-up codes."""
    return Markup(
        HIDDEN.sub(
            lambda m: f'<span class="ctl">U+{ord(m.group()):04X}</span>', str(escape(str(value)))
        )
    )


def name(value: object) -> Markup:
    """A name from Coupa, isolated so right-to-left text cannot reorder its neighbours."""
    return Markup("<bdi>") + marked(value) + Markup("</bdi>")


def embed_json(value: object) -> Markup:
    """``value`` as JSON that is safe as the content of a ``<script>`` element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Markup(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def size(n: int) -> str:
    """Bytes as a person reads them (1024-based, one decimal)."""
    if n < 1024:
        return f"{n} B"
    value, unit = n / 1024, "KB"
    for bigger in ("MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


def mb(n: int) -> str:
    """Bytes in MB (2**20), one decimal: the unit of the summary columns."""
    return f"{n / 2**20:.1f}"


def when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.3g} min" if minutes < 120 else f"{minutes / 60:.3g} h"
