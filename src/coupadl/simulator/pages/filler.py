"""Padding that brings a page to a real page's size (~100-170 KB): hidden templates.

:class:`Filler` builds its blocks once per seed; the routes share one.
"""

from __future__ import annotations

import random

_FILLER_WORDS = ("panel", "column", "widget", "layout", "amount", "label", "value", "field",
                 "region", "tooltip", "segment", "cell", "matrix", "toggle", "section")  # fmt: skip


class Filler:
    """Hidden template blocks that pad a page to a real page's size, built once per seed."""

    def __init__(self, seed: int, blocks: int = 96) -> None:
        rng = random.Random(f"coupa-sim-filler:{seed}")
        self.blocks = [self._block(rng, k) for k in range(blocks)]

    @staticmethod
    def _block(rng: random.Random, k: int) -> str:
        rows = "".join(
            f'<div class="tpl-row"><span class="tpl-{rng.choice(_FILLER_WORDS)}">'
            f"{' '.join(rng.choices(_FILLER_WORDS, k=6))}</span></div>"
            for _ in range(24)
        )
        return f'<script type="text/x-template" id="tpl-{k}">{rows}</script>\n'

    def pad(self, page: str, target: int, start: int) -> str:
        """``page`` with blocks inserted before ``</body>`` until it reaches ``target``."""
        parts, size, k = [], len(page.encode()), start
        while size < target:
            block = self.blocks[k % len(self.blocks)]
            parts.append(block)
            size += len(block)
            k += 1
        filler = '<div id="react-templates" hidden>\n' + "".join(parts) + "</div>\n"
        return page.replace("\n</body>", "\n" + filler + "</body>", 1)


def target_size(index: int) -> int:
    """The size PO page ``index`` is padded to: 100-170 KB, varying by PO."""
    return 100_000 + (index * 7919) % 70_000
