"""Hostile attachment and supplier names: properties of the sanitiser, proven with hypothesis.

For any string a Coupa page can show, ``sanitize_name`` gives one valid path component
that stays inside ``<out>``, and ``unique_name`` never lets two files of one folder
share a name on Linux, Windows (case-insensitive) or macOS (case- and
normalisation-insensitive). The same input gives the same name in every process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coupadl.files.names import (
    MAX_FILE_NAME,
    MAX_FOLDER_NAME,
    MAX_NAME_BYTES,
    safe_join,
    sanitize_folder,
    sanitize_name,
    unique_name,
)

_WINDOWS_FORBIDDEN = set('<>:"/\\|?*')
_DEVICE_NAMES = {
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
    *(f"COM{i}" for i in "0123456789¹²³"),
    *(f"LPT{i}" for i in "0123456789¹²³"),
}  # fmt: skip

# Pieces that attack one rule each; mixed with arbitrary characters (surrogates too).
HOSTILE_PIECES = [
    "..", ".", "/", "\\", "C:", "D:\\", "//server/share/", "\\\\?\\", "~", "$",
    "CON", "con", "NUL", "nul", "COM1", "com¹", "LPT9", "CONIN$", "AUX",
    " ", "  ", "\t", "\n", "\r", "\x00", "\x07", "\x1f", "\x7f", "\x85", "\x9f",
    "\u202e", "\u202d", "\u200e", "\u200f", "\u061c", "\u2066", "\u2069", "\u200b",
    "\u200d", "\ufeff", "\u00ad",
    "e\u0301", "é", "É", "E\u0301", "ß", "ss", "SS", "ẞ", "ı", "I", "i", "İ", "K",
    "\u212a", "ǰ", "J\u030c", "ﬁ", "fi", "ς", "σ", "Σ", "ᾳ", "ᾼ",
    ".pdf", ".PDF", ".txt", ".tar.gz", ".docx", "😀", "🚚", "日本語", "\ud800", "\udfff",
    ":", "*", "?", '"', "<", ">", "|", "(1)", " (2)",
]  # fmt: skip
hostile_text = st.lists(
    st.one_of(
        st.sampled_from(HOSTILE_PIECES),
        st.characters(exclude_categories=()),  # every code point, surrogates included
    ),
    max_size=60,
).map("".join)
long_text = st.builds(
    lambda body, ext: body * (400 // max(1, len(body)) + 1) + ext,
    st.sampled_from(["x", "é", "😀", "日本", "a b", "e\u0301"]),
    st.sampled_from(["", ".pdf", ".docx", ".tar.gz", ". pdf"]),
)
any_name = st.one_of(hostile_text, long_text)


def assert_valid_component(name: str, max_length: int = MAX_FILE_NAME) -> None:
    """Everything a single file or folder name must be on Windows, macOS and Linux."""
    assert name, "empty name"
    assert name not in {".", ".."}
    assert not (_WINDOWS_FORBIDDEN & set(name)), name
    for ch in name:
        assert ord(ch) >= 0x20 and not 0x7F <= ord(ch) <= 0x9F, repr(name)
        assert unicodedata.category(ch) not in ("Cf", "Cs"), repr(name)
    assert name == unicodedata.normalize("NFC", name)
    assert name == name.rstrip(". "), repr(name)
    assert name == name.strip(), repr(name)
    assert name.split(".")[0].rstrip(" ").upper() not in _DEVICE_NAMES, name
    assert len(name) <= max_length
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert PurePosixPath(name).parts == (name,)
    windows = PureWindowsPath(name)
    assert windows.parts == (name,) and not windows.drive and not windows.anchor


# The equivalences of real file systems that unique_name must keep apart.
def on_linux(name: str) -> str:
    return name


def on_windows(name: str) -> str:
    # NTFS compares upper case, code unit by code unit, and does not normalise.
    return "".join(ch.upper() for ch in name)


def on_macos(name: str) -> str:
    # APFS (default): case-insensitive and normalisation-insensitive.
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())


FILE_SYSTEMS = (on_linux, on_windows, on_macos)


# --- examples: each hostile kind from the issue, with what it becomes ------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../../etc/passwd", ".._.._.._etc_passwd"),
        ("..", "_"),
        ("/etc/passwd", "_etc_passwd"),
        ("/", "_"),
        ("\\\\server\\share\\x.pdf", "__server_share_x.pdf"),
        ("C:\\Windows\\system32\\x.dll", "C__Windows_system32_x.dll"),
        ("D:report.pdf", "D_report.pdf"),
        ("nul\x00byte.pdf", "nul_byte.pdf"),
        ("line\nbreak\r\ttab.txt", "line_break__tab.txt"),
        ("CON", "_CON"),
        ("NUL", "_NUL"),
        ("COM1", "_COM1"),
        ("con.txt", "_con.txt"),
        ("Con .Txt", "_Con .Txt"),
        ("lpt1.tar.gz", "_lpt1.tar.gz"),
        ("CONIN$", "_CONIN$"),
        ("COM¹.pdf", "_COM¹.pdf"),
        ("CONSOLE.pdf", "CONSOLE.pdf"),
        ("invoice.pdf...", "invoice.pdf"),
        ("invoice.pdf   ", "invoice.pdf"),
        ("invoice . . .", "invoice"),
        ("statement\u202etxt.pdf", "statementtxt.pdf"),
        ("\u200fright\u200eleft\u061c.pdf", "rightleft.pdf"),
        ("zero\u200bwidth\ufeff.pdf", "zerowidth.pdf"),
        ("Pedido_Me\u0301xico.txt", "Pedido_M\u00e9xico.txt"),
        ("broken\ud800surrogate.pdf", "brokensurrogate.pdf"),
    ],
)
def test_hostile_examples(raw: str, expected: str) -> None:
    assert sanitize_name(raw) == expected
    assert_valid_component(sanitize_name(raw))


@pytest.mark.parametrize(
    ("unit", "ext"),
    [("x", ".pdf"), ("é", ".pdf"), ("😀", ".docx"), ("日本", ".xlsx"), ("e\u0301", ".txt")],
)
def test_400_character_names_fit_255_bytes_and_keep_their_extension(
    unit: str, ext: str, tmp_path: Path
) -> None:
    raw = unit * (400 // len(unit)) + ext
    name = sanitize_name(raw)
    assert name.endswith(ext)
    assert len(name) <= MAX_FILE_NAME
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    (tmp_path / name).write_bytes(b"ok")  # the file system agrees
    taken: set[str] = set()
    first, second = unique_name(name, taken), unique_name(name, taken)
    assert second.endswith(f" (1){ext}")
    assert len(second.encode("utf-8")) <= MAX_NAME_BYTES and len(second) <= MAX_FILE_NAME
    assert first != second
    (tmp_path / second).write_bytes(b"ok")


@pytest.mark.parametrize(
    "pair",
    [
        ("Quote.pdf", "QUOTE.PDF"),
        ("caf\u00e9.pdf", "cafe\u0301.pdf"),  # NFC vs NFD
        ("CAF\u00c9.pdf", "cafe\u0301.pdf"),  # and case
        ("stra\u00dfe.pdf", "STRASSE.pdf"),  # macOS folds ß to ss
        ("\u0131.pdf", "I.pdf"),  # dotless i: one name for Windows' upper case
        ("\u212a.pdf", "k.pdf"),  # Kelvin sign folds to k
        ("\u01f0.txt", "J\u030c.txt"),
    ],
)
def test_names_one_file_system_confuses_get_distinct_names(pair: tuple[str, str]) -> None:
    taken: set[str] = set()
    chosen = [unique_name(sanitize_name(raw), taken) for raw in pair]
    for fs in FILE_SYSTEMS:
        assert len({fs(name) for name in chosen}) == 2, (fs.__name__, chosen)
    assert chosen[0] == sanitize_name(pair[0])  # the first keeps its name
    assert " (1)" in chosen[1]


# --- properties -------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY_SETTINGS
@given(any_name)
def test_always_one_valid_non_empty_component(raw: str) -> None:
    name = sanitize_name(raw)
    assert_valid_component(name)
    assert sanitize_name(name) == name  # idempotent: a clean name stays as it is
    folder = sanitize_folder(raw)
    assert_valid_component(folder, MAX_FOLDER_NAME)


@PROPERTY_SETTINGS
@given(any_name)
def test_never_escapes_out(tmp_path_factory: pytest.TempPathFactory, raw: str) -> None:
    out = tmp_path_factory.getbasetemp() / "out"
    out.mkdir(exist_ok=True)
    target = out / sanitize_name(raw)
    assert target.resolve().parent == out.resolve()
    # And the file system accepts it as one file there (ENAMETOOLONG, EINVAL otherwise).
    target.write_bytes(b"")
    assert target.resolve().parent == out.resolve()
    target.unlink()


@PROPERTY_SETTINGS
@given(st.lists(any_name, min_size=1, max_size=4))
def test_supplier_and_level_folders_stay_inside(
    tmp_path_factory: pytest.TempPathFactory, parts: list[str]
) -> None:
    out = tmp_path_factory.getbasetemp() / "out"
    path = safe_join(out, *parts)
    assert out.resolve() in path.resolve().parents
    assert len(path.relative_to(out).parts) == len(parts)


@PROPERTY_SETTINGS
@given(st.lists(any_name, max_size=25))
def test_never_collides_within_a_folder(
    tmp_path_factory: pytest.TempPathFactory, raws: list[str]
) -> None:
    taken: set[str] = set()
    chosen = [unique_name(sanitize_name(raw), taken) for raw in raws]
    for name in chosen:
        assert_valid_component(name)
    for fs in FILE_SYSTEMS:
        assert len({fs(name) for name in chosen}) == len(chosen), fs.__name__
    folder = tmp_path_factory.mktemp("po")
    for name in chosen:
        (folder / name).write_bytes(b"")
    assert len(list(folder.iterdir())) == len(chosen)


@PROPERTY_SETTINGS
@given(st.lists(any_name, max_size=10))
def test_same_input_same_output(raws: list[str]) -> None:
    def names() -> list[str]:
        taken: set[str] = set()
        return [unique_name(sanitize_name(raw), taken) for raw in raws]

    assert names() == names()


_CORPUS_SCRIPT = """
import json, sys
from coupadl.files.names import sanitize_name, unique_name
raws = json.loads(sys.stdin.read())
taken = set()
print(json.dumps([unique_name(sanitize_name(r), taken) for r in raws]))
"""


def test_stable_across_processes_and_hash_seeds() -> None:
    corpus = [
        *HOSTILE_PIECES,
        "".join(HOSTILE_PIECES),
        *(p + ".pdf" for p in HOSTILE_PIECES),
        "x" * 400 + ".pdf",
        "😀" * 300 + ".docx",
    ]
    corpus = [c for c in corpus if not any(0xD800 <= ord(ch) <= 0xDFFF for ch in c)]  # JSON
    taken: set[str] = set()
    here = [unique_name(sanitize_name(raw), taken) for raw in corpus]
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", _CORPUS_SCRIPT],
            input=json.dumps(corpus),
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=60,
        )
        assert json.loads(done.stdout) == here


def test_an_attachment_cannot_take_the_staging_folders_name() -> None:
    """Downloads land in ``<PO folder>/.incoming/<n>/`` first: a file called ".incoming"
    gets another name instead of being moved onto that folder."""
    from coupadl.engine.flow import Naming
    from coupadl.files.folders import STAGING_NAME
    from coupadl.models import Attachment, AttachmentSource

    naming = Naming()
    files = naming.name(
        [
            Attachment(STAGING_NAME, "https://t/1", AttachmentSource.HEADER),
            Attachment(".INCOMING", "https://t/2", AttachmentSource.HEADER),
        ]
    )
    assert [f.name for f in files] == [f"{STAGING_NAME} (1)", ".INCOMING (2)"]
