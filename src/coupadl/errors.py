"""Typed errors with stable codes.

Every error a user can meet carries a code (``E_...``) that stays the same across
versions, so people can filter results and logs on it. The per-PO codes are listed
in ``STATUS_CODES``; run-level errors map to process exit codes in ``ExitCode``.
"""

from __future__ import annotations

import enum

from coupadl.models import Status


class ExitCode(enum.IntEnum):
    """Process exit codes of the ``coupadl`` command (documented in the README)."""

    OK = 0
    INTERNAL_ERROR = 1
    USAGE = 2  # bad flags, invalid input file or settings
    INCOMPLETE = 3  # some POs ended FAILED, PARTIAL or TIMEOUT
    AUTH_REQUIRED = 4  # the Coupa session expired; sign in again and re-run
    BROWSER = 5  # the browser or its driver could not be started
    INTERRUPTED = 130  # Ctrl+C / SIGTERM; re-run the same command to resume


# The default error code and message for each PO status.
STATUS_CODES: dict[Status, tuple[str, str]] = {
    Status.COMPLETED: ("", "All attachments downloaded and verified."),
    Status.PARTIAL: ("E_PARTIAL", "Some attachments could not be downloaded."),
    Status.FAILED: ("E_DOWNLOAD_FAILED", "No attachment could be downloaded."),
    Status.NO_ATTACHMENTS: ("", "The PO has no attachments."),
    Status.PO_NOT_FOUND: ("E_PO_NOT_FOUND", "Coupa says this PO does not exist."),
    Status.ACCESS_DENIED: ("E_ACCESS_DENIED", "You are not authorised to see this PO."),
    Status.AUTH_REQUIRED: (
        "E_AUTH_REQUIRED",
        "The Coupa session expired or is missing; run 'coupadl login' and re-run.",
    ),
    Status.TIMEOUT: ("E_TIMEOUT", "The page or a download took too long."),
}


class CoupadlError(Exception):
    """Base of every error coupadl raises on purpose."""

    code: str = "E_INTERNAL"
    exit_code: ExitCode = ExitCode.INTERNAL_ERROR

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputFileError(CoupadlError):
    """The input spreadsheet cannot be used (missing, unreadable, no PO_NUMBER column)."""

    code = "E_INPUT"
    exit_code = ExitCode.USAGE


class ConfigError(CoupadlError):
    """A setting is missing or invalid."""

    code = "E_CONFIG"
    exit_code = ExitCode.USAGE


class InvalidPONumber(CoupadlError):
    """A PO number that is not a Coupa PO number."""

    code = "E_INVALID_PO"
    exit_code = ExitCode.USAGE


class BrowserError(CoupadlError):
    """The browser or its driver could not be started or stopped responding."""

    code = "E_BROWSER"
    exit_code = ExitCode.BROWSER


class ProfileLockedError(BrowserError):
    """A running browser holds the profile directory."""

    code = "E_PROFILE_LOCKED"


class AuthRequiredError(CoupadlError):
    """Coupa sent us to a sign-in page."""

    code = "E_AUTH_REQUIRED"
    exit_code = ExitCode.AUTH_REQUIRED


class OutputError(CoupadlError):
    """The output folder cannot be written (permissions, disk full, locked by another run)."""

    code = "E_OUTPUT"
    exit_code = ExitCode.USAGE


class DownloadError(CoupadlError):
    """One attachment could not be downloaded or failed verification."""

    code = "E_DOWNLOAD_FAILED"


class DownloadTimeout(DownloadError):
    """A download did not start, stalled, or ran past its time limit."""

    code = "E_DOWNLOAD_TIMEOUT"


class PageTimeout(CoupadlError):
    """A Coupa page did not load in time."""

    code = "E_PAGE_TIMEOUT"
