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
    OUTPUT_UNAVAILABLE = 6  # the output disk is full or read-only; free it and re-run
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

# What a person can do about a PO that ended with each error code (report.html).
SUGGESTED_ACTIONS: dict[str, str] = {
    "E_PARTIAL": "Re-run the same command: the PO is fetched again.",
    "E_DOWNLOAD_FAILED": (
        "Re-run the same command. If it fails again, open the PO in Coupa and check "
        "that its attachments open there."
    ),
    "E_DOWNLOAD_TIMEOUT": (
        "Re-run the same command; on a slow network raise download_timeout or "
        "download_stall_timeout."
    ),
    "E_TIMEOUT": "Re-run the same command; if it keeps happening raise page_timeout.",
    "E_PAGE_TIMEOUT": "Re-run the same command; if Coupa is slow raise page_timeout.",
    "E_PO_NOT_FOUND": "Check the PO number in your spreadsheet: Coupa has no such PO.",
    "E_ACCESS_DENIED": (
        "Ask your Coupa administrator for access to these POs, or remove them from the input."
    ),
    "E_AUTH_REQUIRED": "Run 'coupadl login', then re-run the same command.",
    "E_SERVER_ERROR": (
        "Coupa had a server error: re-run later. If this PO keeps failing, open it in Coupa."
    ),
    "E_BROWSER": (
        "Re-run the same command; if browsers keep dying, use fewer workers (--workers) "
        "or free some memory."
    ),
    "E_OUTPUT": "Check that the output folder is writable and the disk has room, then re-run.",
    "E_RATE_LIMITED": (
        "Coupa limited the request rate: re-run later, or with fewer workers (--workers)."
    ),
    "E_INVALID_PO": "Correct the PO number in your spreadsheet.",
    "E_NETWORK": (
        "The connection to Coupa failed: re-run the same command. If it keeps failing, "
        "check your network, VPN and proxy ('coupadl doctor'), or for a TLS error set "
        "ca_bundle to your company's root certificate."
    ),
    "E_API_SCOPE": (
        "Ask your Coupa administrator to grant the OAuth client the scope the message "
        "names (Setup > Integrations > OAuth2/OpenID Connect Clients), then re-run."
    ),
    "E_NEEDS_BROWSER": (
        "This PO's page lists its attachments only in a browser: re-run with "
        "--engine auto (a browser reads such POs) or --engine browser."
    ),
}
DEFAULT_ACTION = "Re-run the same command; if it happens again, report it with the log."


def suggested_action(code: str) -> str:
    """The advice for a per-PO error code (a generic one for codes without their own)."""
    return SUGGESTED_ACTIONS.get(code, DEFAULT_ACTION)


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


class GridError(BrowserError):
    """The Selenium Grid at ``grid_url`` cannot run this run's browsers (unreachable, no
    slot for the browser, no managed downloads): the run stops before any PO."""

    code = "E_GRID"


class ProfileLockedError(BrowserError):
    """A running browser holds the profile directory."""

    code = "E_PROFILE_LOCKED"


class AuthRequiredError(CoupadlError):
    """Coupa sent us to a sign-in page."""

    code = "E_AUTH_REQUIRED"
    exit_code = ExitCode.AUTH_REQUIRED


class RateLimitedError(CoupadlError):
    """Coupa answered HTTP 429 Too Many Requests; ``retry_after`` is the wait in seconds."""

    code = "E_RATE_LIMITED"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OutputError(CoupadlError):
    """The output folder cannot be written (permissions, disk full, locked by another run)."""

    code = "E_OUTPUT"
    exit_code = ExitCode.USAGE


class NoRunStateError(CoupadlError):
    """The folder holds no coupadl run state (``<out>/.coupadl/state.db``)."""

    code = "E_NO_RUN_STATE"
    exit_code = ExitCode.USAGE


class OutputUnavailableError(OutputError):
    """The output disk filled up or turned read-only mid-run: the run stops, the PO
    being written stays pending. ``code`` is E_DISK_FULL or E_OUTPUT_READ_ONLY."""

    code = "E_DISK_FULL"
    exit_code = ExitCode.OUTPUT_UNAVAILABLE


class DownloadError(CoupadlError):
    """One attachment could not be downloaded or failed verification."""

    code = "E_DOWNLOAD_FAILED"


class DownloadTimeout(DownloadError):
    """A download did not start, stalled, or ran past its time limit."""

    code = "E_DOWNLOAD_TIMEOUT"


class PageTimeout(CoupadlError):
    """A Coupa page did not load in time."""

    code = "E_PAGE_TIMEOUT"


class NetworkError(CoupadlError):
    """The connection to Coupa (or a file host) failed: refused, reset, TLS, proxy. The
    PO is worth another attempt; its message names the host, never a URL's query."""

    code = "E_NETWORK"


class NeedsBrowserError(CoupadlError):
    """A page read over plain HTTP cannot be trusted to list every attachment (an
    unknown layout, or attachment lists a script fills in): only a browser can read
    it. ``reason`` says what was seen."""

    code = "E_NEEDS_BROWSER"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ApiScopeError(ConfigError):
    """The Coupa API's OAuth client lacks a scope the run needs (the message names it):
    the run stops before any PO is marked."""

    code = "E_API_SCOPE"


class ApiPagingError(CoupadlError):
    """The Coupa API answered a later page of a list with POs it had already sent (it
    seems to ignore ``offset``): the list cannot be read to its end."""

    code = "E_API_PAGING"
    exit_code = ExitCode.INCOMPLETE


class PlainHttpRefusedError(CoupadlError):
    """Coupa takes the browser's session in the browser but not over plain HTTP (a
    session bound to the browser, a bot wall): with ``engine = auto`` the run goes on
    with the browser engine."""

    code = "E_HTTP_REFUSED"
