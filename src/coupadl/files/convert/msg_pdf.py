"""Outlook ``.msg`` → PDF beside it, plus the message's embedded attachments.

:func:`convert_msg` converts one file and raises typed errors; :func:`convert_folder`
converts every ``.msg`` of a folder, never raises for a bad file, and returns plain
data; :func:`convert_po_folder` is the PO pipeline's hook (see ``engine/browser/processor.py``): it
runs in the PO's work folder before the folder gets its final name.

Files are named by :mod:`coupadl.files.convert.names`. Nothing is ever written outside the
folder of the ``.msg``; nothing that is already there is replaced, except an existing
PDF of the same name with ``overwrite`` (and never a ``protected`` file: the files the
PO downloaded from Coupa).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import secrets
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from coupadl.files.convert.errors import ConversionError, FontMissingError, InvalidMessageError
from coupadl.files.convert.message import EmailContent, EmbeddedItem, read_msg
from coupadl.files.convert.names import embedded_name, is_msg_name, pdf_name_for
from coupadl.files.convert.pdf import PdfFont, default_font, render_pdf
from coupadl.files.folders import WORK_SUFFIX
from coupadl.files.names import name_key, unique_name

log = logging.getLogger(__name__)

# Conversions are CPU work under the GIL: more than two at once (threads of the http
# engine) add some 10 MB each while they run and no speed. One at a time was tried:
# the POs waiting for it held their slots, and the last 1,000 of 10,000 POs got slower.
_AT_ONCE = threading.BoundedSemaphore(2)

# An e-mail attached to an e-mail attached to ...: converted this many levels down.
MAX_NESTING = 3


class Outcome(enum.StrEnum):
    CONVERTED = "converted"
    KEPT = "kept"  # a PDF of that name was already there and stays
    INVALID = "invalid"  # not a readable Outlook message; the file stays as it is
    FAILED = "failed"  # no font, a write error, a bug: see ``problem``


@dataclass(frozen=True)
class MsgConversion:
    """What became of one ``.msg`` file."""

    msg: Path
    outcome: Outcome
    pdf: Path | None = None
    embedded: tuple[Path, ...] = ()  # files saved out of the message, PDFs excluded
    problem: str = ""
    code: str = ""  # the E_* code of ``problem``


@dataclass(frozen=True)
class FolderConversion:
    """What became of every ``.msg`` of one folder (nested e-mails included)."""

    folder: Path
    items: tuple[MsgConversion, ...] = ()

    def of(self, outcome: Outcome) -> list[MsgConversion]:
        return [item for item in self.items if item.outcome is outcome]

    @property
    def made(self) -> list[Path]:
        """Every file the conversion wrote (PDFs and embedded files)."""
        return [p for item in self.items for p in (*item.embedded, *filter(None, [item.pdf]))]

    def summary(self) -> str:
        """One sentence for the PO's result message; "" when there was no .msg."""
        if not self.items:
            return ""
        parts = []
        converted = self.of(Outcome.CONVERTED)
        if converted:
            saved = sum(len(item.embedded) for item in converted)
            extra = f", {saved} embedded file(s) saved" if saved else ""
            parts.append(f"{len(converted)} .msg converted to PDF{extra}")
        parts += [f"kept the existing PDF of {i.msg.name!r}" for i in self.of(Outcome.KEPT)]
        parts += [
            f"{i.msg.name!r} not converted ({i.problem})"
            for i in self.items
            if i.outcome in (Outcome.INVALID, Outcome.FAILED)
        ]
        return "PDF from .msg: " + "; ".join(parts) + "."


@dataclass
class _Plan:
    """Names chosen for one message's embedded files, before anything is written."""

    saved: list[tuple[EmbeddedItem, Path]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def _reserve(name: str, taken: set[str], *, with_pdf: bool) -> str:
    """A free name; for an e-mail, one whose PDF name is free as well (both reserved)."""
    while True:
        candidate = unique_name(name, taken)
        if not with_pdf:
            return candidate
        pdf_key = name_key(pdf_name_for(candidate))
        if pdf_key not in taken:
            taken.add(pdf_key)
            return candidate


def _inside(folder: Path, name: str) -> Path:
    """``folder / name``, proven to be a direct child of ``folder``."""
    path = folder / name
    odd = name in ("", ".", "..") or "/" in name or "\\" in name
    if odd or path.parent.resolve() != folder.resolve():
        raise ConversionError(f"refusing to write {name!r} outside {folder}")
    return path


def _plan(msg: Path, content: EmailContent, taken: set[str]) -> _Plan:
    plan = _Plan()
    for item in content.attachments:
        if item.data is None:
            plan.lines.append(f"{item.name} ({item.note})")
            continue
        wanted = embedded_name(msg.name, item.name)
        path = _inside(msg.parent, _reserve(wanted, taken, with_pdf=item.is_message))
        plan.saved.append((item, path))
        kind = "e-mail, " if item.is_message else ""
        plan.lines.append(f"{item.name} ({kind}{_size(len(item.data))}), saved as {path.name}")
    return plan


def _write_new(path: Path, data: bytes) -> None:
    # "x": never replaces (nor follows) anything that appeared there meanwhile.
    with path.open("xb") as handle:
        handle.write(data)


def _write_replacing(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, so a reader never sees half a PDF."""
    # Not tempfile.mkstemp: its files are private (0600); this one gets the usual mode.
    tmp = path.with_name(f".{path.stem[:40]}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        _write_new(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def convert_msg(
    msg: Path,
    *,
    overwrite: bool = False,
    protected: Collection[str] = (),
    taken: set[str] | None = None,
    font: PdfFont | None = None,
) -> MsgConversion:
    """Write ``<stem>.pdf`` and the embedded attachments of ``msg`` beside it.

    ``protected``: names never replaced, even with ``overwrite``. ``taken``: name keys
    already used or reserved in the folder (updated; default: what is on disk now).
    Raises :class:`InvalidMessageError`, :class:`FontMissingError`, ``OSError``.
    """
    folder = msg.parent
    pdf_path = _inside(folder, pdf_name_for(msg.name))
    if os.path.lexists(pdf_path):
        guarded = name_key(pdf_path.name) in {name_key(n) for n in protected}
        if not overwrite or guarded:
            why = "downloaded from Coupa" if guarded else "use --overwrite to replace it"
            log.info("%s: %s already exists and is kept (%s)", msg.name, pdf_path.name, why)
            return MsgConversion(msg, Outcome.KEPT, pdf=pdf_path)
    font = font or default_font()
    with _AT_ONCE:
        content = read_msg(msg)
        if taken is None:
            taken = {name_key(p.name) for p in folder.iterdir()}
        taken.add(name_key(pdf_path.name))
        plan = _plan(msg, content, taken)
        document = render_pdf(content, plan.lines, font)
        for item, path in plan.saved:
            _write_new(path, item.data or b"")
        _write_replacing(pdf_path, document)
    log.debug(
        "%s: PDF %s (body from %s), %d embedded file(s)",
        msg.name,
        pdf_path.name,
        content.body_source or "nowhere",
        len(plan.saved),
    )
    return MsgConversion(
        msg, Outcome.CONVERTED, pdf=pdf_path, embedded=tuple(p for _, p in plan.saved)
    )


def _msg_files(folder: Path) -> list[Path]:
    # Symlinks are left alone: a link could point anywhere, and nothing here makes one.
    return sorted(
        (p for p in folder.iterdir() if is_msg_name(p.name) and p.is_file() and not p.is_symlink()),
        key=lambda p: p.name,
    )


def convert_folder(
    folder: Path,
    *,
    overwrite: bool = False,
    protected: Iterable[str] = (),
    font: PdfFont | None = None,
    progress: Callable[[str], None] | None = None,
) -> FolderConversion:
    """Convert every ``.msg`` directly in ``folder``; a bad file is logged and recorded."""
    messages = _msg_files(folder)
    if not messages:
        return FolderConversion(folder)
    guarded = frozenset(protected)
    # Reserve every PDF name first: an embedded file must never take the name of the
    # PDF of a message converted after it.
    taken = {name_key(p.name) for p in folder.iterdir()}
    taken.update(name_key(pdf_name_for(m.name)) for m in messages)
    queue = [(m, 0) for m in messages]
    items: list[MsgConversion] = []
    for msg, depth in queue:
        if progress is not None:
            progress(f"converting {msg.name} to PDF")
        item = _convert_one(msg, overwrite, guarded, taken, font)
        items.append(item)
        if depth < MAX_NESTING:
            nested = [p for p in item.embedded if is_msg_name(p.name)]
            queue.extend((p, depth + 1) for p in nested)
    return FolderConversion(folder, tuple(items))


def _convert_one(
    msg: Path, overwrite: bool, protected: frozenset[str], taken: set[str], font: PdfFont | None
) -> MsgConversion:
    # The folder is still PO<n>__WORK here; name the PO, not the temporary folder.
    where = f"{msg.parent.name.removesuffix(WORK_SUFFIX)}: {msg.name}"
    try:
        return convert_msg(msg, overwrite=overwrite, protected=protected, taken=taken, font=font)
    except InvalidMessageError as exc:
        log.warning("%s: not a valid Outlook message, kept as it is, no PDF made", where)
        log.debug("%s: %s", where, exc.message)
        return MsgConversion(msg, Outcome.INVALID, problem="not a valid Outlook message",
                             code=exc.code)  # fmt: skip
    except FontMissingError as exc:
        log.warning("%s: no PDF made: %s", where, exc.message)
        return MsgConversion(msg, Outcome.FAILED, problem="no Unicode font", code=exc.code)
    except ConversionError as exc:
        log.warning("%s: no PDF made: %s", where, exc.message)
        return MsgConversion(msg, Outcome.FAILED, problem=exc.message, code=exc.code)
    except OSError as exc:
        log.warning("%s: no PDF made: cannot write: %s", where, exc)
        return MsgConversion(msg, Outcome.FAILED, problem=f"cannot write: {exc}", code="E_OUTPUT")
    except Exception as exc:  # a parser/renderer bug must not fail the PO
        log.warning("%s: no PDF made: %s: %s", where, type(exc).__name__, exc, exc_info=True)
        return MsgConversion(
            msg, Outcome.FAILED, problem=f"{type(exc).__name__}: {exc}", code="E_MSG_CONVERT"
        )


def convert_po_folder(
    work: Path,
    downloaded: Iterable[str],
    *,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> str:
    """The PO pipeline's step: convert in the work folder; the note for the result.

    The PO's status never depends on it: every problem is logged and noted.
    """
    try:
        done = convert_folder(work, overwrite=overwrite, protected=downloaded, progress=progress)
    except OSError as exc:  # the folder itself could not be listed
        log.warning("%s: .msg files not converted: %s", work.name, exc)
        return f"PDF from .msg: not done ({exc})."
    return done.summary()
