"""Plain text from the three shapes an Outlook body comes in: text, HTML, RTF.

The PDF shows the text of a message, not its layout: these functions keep the words,
the paragraphs and the line breaks, and drop styles, scripts and formatting codes.
"""

from __future__ import annotations

import codecs
import re

from bs4 import BeautifulSoup

# Controls that a PDF text line cannot carry (tab and newline are handled apart).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_BLANK_RUNS = re.compile(r"\n{3,}")
_SPACE_RUNS = re.compile(r"[ \t\u00a0]+")

_HTML_DROP = ("script", "style", "head", "title", "meta", "noscript", "template")
_HTML_BLOCKS = (
    "p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "address", "section", "article", "header", "footer", "hr",
)  # fmt: skip


def clean_text(text: str) -> str:
    """Unix newlines, no control characters, tabs as spaces, at most one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = _CONTROLS.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


def html_to_text(html: bytes | str) -> str:
    """The readable text of an HTML body: one line per block, <br> as a line break."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for cell in soup.find_all(("td", "th")):
        cell.append("\t")
    for block in soup.find_all(_HTML_BLOCKS):
        block.insert_before("\n")
        block.append("\n")
    # HTML collapses runs of spaces and source newlines; only the ones added above count.
    parts = []
    for piece in soup.find_all(string=True):
        text = str(piece)
        if text not in ("\n", "\t"):
            text = _SPACE_RUNS.sub(" ", text.replace("\n", " "))
        parts.append(text)
    lines = (line.replace("\t", "  ").strip() for line in "".join(parts).split("\n"))
    return clean_text("\n".join(lines))


# --- RTF ----------------------------------------------------------------------------
# A small reader for the text of an RTF body (Outlook's "rich text" messages, where
# there is no HTML to de-encapsulate). It walks groups and control words, skips the
# destinations that hold no body text, and decodes \'hh (in the document's code page)
# and \uN escapes.

_RTF_TOKEN = re.compile(
    rb"\\([a-zA-Z]+)(-?\d+)? ?|\\'([0-9a-fA-F]{2})|\\([^a-zA-Z])|([{}])|[\r\n]+|([^\\{}\r\n]+)"
)
_RTF_SKIP = frozenset(
    {
        "fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "header", "footer",
        "headerl", "headerr", "headerf", "footerl", "footerr", "footerf", "listtable",
        "listoverridetable", "rsidtbl", "generator", "xmlnstbl", "themedata", "filetbl",
        "colorschememapping", "latentstyles", "datastore", "revtbl", "pgdsctbl", "fldinst",
        "mmathPr", "bkmkstart", "bkmkend", "footnote", "annotation", "private",
    }
)  # fmt: skip
_RTF_BREAKS = {"par": "\n", "line": "\n", "sect": "\n\n", "page": "\n\n", "row": "\n"}
_RTF_CHARS = {
    "tab": "\t", "cell": "\t", "emdash": "\u2014", "endash": "\u2013", "bullet": "\u2022",
    "lquote": "\u2018", "rquote": "\u2019", "ldblquote": "\u201c", "rdblquote": "\u201d",
    "emspace": " ", "enspace": " ", "qmspace": " ",
}  # fmt: skip
_RTF_SYMBOLS = {"~": "\u00a0", "_": "\u2011", "-": "", "{": "{", "}": "}", "\\": "\\"}


def _codec(codepage: int) -> str:
    name = f"cp{codepage}"
    try:
        codecs.lookup(name)
    except LookupError:
        return "cp1252"
    return name


class _RtfReader:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.pending = bytearray()  # \'hh bytes, decoded together (multi-byte code pages)
        self.codec = "cp1252"
        self.skip_depth: int | None = None  # group depth at which skipping started
        self.depth = 0
        self.uc_stack = [1]  # \ucN: how many fallback characters follow each \uN
        self.to_skip = 0  # fallback characters still to drop after a \uN

    def flush(self) -> None:
        if self.pending:
            self.out.append(bytes(self.pending).decode(self.codec, errors="replace"))
            self.pending.clear()

    def emit(self, text: str) -> None:
        if self.skip_depth is None:
            self.flush()
            self.out.append(text)

    def text(self, data: bytes) -> None:
        if self.to_skip:
            dropped = min(self.to_skip, len(data))
            data, self.to_skip = data[dropped:], self.to_skip - dropped
        if data:
            self.emit(data.decode(self.codec, errors="replace"))

    def group(self, opening: bool, next_is_star: bool) -> None:
        self.flush()
        self.to_skip = 0
        if opening:
            self.depth += 1
            self.uc_stack.append(self.uc_stack[-1])
            if next_is_star and self.skip_depth is None:
                self.skip_depth = self.depth
        else:
            if self.skip_depth == self.depth:
                self.skip_depth = None
            self.depth -= 1
            if len(self.uc_stack) > 1:
                self.uc_stack.pop()

    def word(self, word: str, arg: int | None) -> None:
        if word == "ansicpg" and arg is not None:
            self.codec = _codec(arg)
        elif word == "uc" and arg is not None:
            self.uc_stack[-1] = max(0, arg)
        elif word == "u" and arg is not None:
            self.emit(chr(arg + 65536 if arg < 0 else arg))
            self.to_skip = self.uc_stack[-1]
            return
        elif word in _RTF_SKIP and self.skip_depth is None:
            self.skip_depth = self.depth
        elif word in _RTF_BREAKS:
            self.emit(_RTF_BREAKS[word])
        elif word in _RTF_CHARS:
            self.emit(_RTF_CHARS[word])
        self.to_skip = 0

    def hex_byte(self, value: int) -> None:
        if self.to_skip:
            self.to_skip -= 1
        elif self.skip_depth is None:
            self.pending.append(value)

    def result(self) -> str:
        self.flush()
        text = "".join(self.out)
        # \uN escapes of astral characters arrive as two surrogates: join them.
        return text.encode("utf-16", "surrogatepass").decode("utf-16", errors="replace")


def rtf_to_text(rtf: bytes) -> str:
    """The text of an RTF document, best effort (never raises on odd input)."""
    reader = _RtfReader()
    for match in _RTF_TOKEN.finditer(rtf):
        word, arg, hex_pair, symbol, brace, plain = match.groups()
        if word is not None:
            reader.word(word.decode("ascii"), int(arg) if arg is not None else None)
        elif hex_pair is not None:
            reader.hex_byte(int(hex_pair, 16))
        elif symbol is not None:
            if symbol == b"*":
                continue  # handled when its group opened (see below)
            reader.emit(_RTF_SYMBOLS.get(symbol.decode("latin-1"), ""))
        elif brace is not None:
            opening = brace == b"{"
            reader.group(opening, opening and rtf.startswith(b"\\*", match.end()))
        elif plain is not None:
            reader.text(plain)
    return clean_text(reader.result())
