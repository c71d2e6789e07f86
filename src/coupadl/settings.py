"""The one source of truth for coupadl's settings.

Precedence, highest first: command-line flags (passed to :func:`load_settings` as
``overrides``), ``COUPA_*`` environment variables, a TOML config file, the defaults
below. Every field's ``description`` is what ``docs/configuration.md`` shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    SettingsConfigDict,
)

from coupadl.errors import ConfigError
from coupadl.settings_sources import find_config_file, settings_class
from coupadl.settings_values import (
    BrowserKind,
    EngineKind,
    LogFormat,
    RequisitionFallback,
    default_profile_dir,
    is_loopback_host,
)

__all__ = [
    "BrowserKind",
    "EngineKind",
    "LogFormat",
    "RequisitionFallback",
    "Settings",
    "is_loopback_host",
    "load_settings",
]

ENV_PREFIX = "COUPA_"


class Settings(BaseSettings):
    """Settings for a coupadl run. Field names map to ``COUPA_<NAME>`` env vars."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        validate_default=True,
        populate_by_name=True,
    )

    # --- tenant -------------------------------------------------------------------
    base_url: str | None = Field(
        default=None,
        description="Your Coupa tenant, e.g. https://acme.coupahost.com.",
    )
    username: str | None = Field(
        default=None, description="Sign-in e-mail for a native Coupa login form (login only)."
    )
    password: str | None = Field(
        default=None,
        description="Password for a native Coupa login form (login only; never logged).",
        repr=False,
    )
    allow_insecure_http: bool = Field(
        default=False,
        description="Allow an http:// base_url on another computer. Off by default: the "
        "session cookie and the password would cross the network unencrypted.",
    )
    file_hosts: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Hosts besides the tenant's that may serve attachment files, e.g. "
        "'files.acme.com' or '*.s3.amazonaws.com' (env: comma-separated). A download "
        "from, or redirected to, any other host is refused and logged.",
    )

    # --- output -------------------------------------------------------------------
    out: Path = Field(
        default=Path("coupadl-out"),
        description="Output folder: supplier/PO folders, results file, report and run state.",
    )
    requisition_fallback: RequisitionFallback = Field(
        default=RequisitionFallback.NO_PDF,
        description="Add the requisition's files when the PO has none "
        "('no_attachments'), or no PDF ('no_pdf'), or never ('never').",
    )
    msg_to_pdf: bool = Field(
        default=True,
        description="Give every Outlook .msg file of a PO folder a PDF beside it (headers, "
        "body, attachment list) and save the e-mail's embedded attachments beside it, "
        "named '<msg name> - <attachment>'. The .msg is kept. Needs a Unicode TrueType "
        "font (Debian: fonts-dejavu-core).",
    )
    overwrite_pdf: bool = Field(
        default=False,
        description="When converting a .msg, replace a PDF of the same name that is "
        "already there (a file downloaded from Coupa is never replaced).",
    )

    # --- engine -------------------------------------------------------------------
    engine: EngineKind = Field(
        default=EngineKind.AUTO,
        description="How POs are read and files downloaded. 'auto': the signed-in "
        "browser's session over plain HTTP, many POs at once, and a browser for the POs "
        "whose page only a browser can read (and for the whole run when Coupa refuses "
        "the session over plain HTTP). 'http': plain HTTP only. 'browser': a browser "
        "renders every PO (workers, max_workers). 'api': Coupa's REST API with an OAuth "
        "client (api_client_id), no browser.",
    )
    auto_check_every: int = Field(
        default=50,
        ge=0,
        description="With engine 'auto': the run's first 3 POs and then 1 in this many are "
        "also read in a browser and the two readings of the attachment list compared; a "
        "PO whose readings differ goes to the browser, and after 2 such POs the rest of "
        "the run does (0: no checks).",
    )
    concurrency: int | Literal["auto"] = Field(
        default="auto",
        description="POs in flight at once with the http and api engines: a number, or "
        "'auto' (starts at 4, grows while throughput rises and Coupa answers no 429 or "
        "5xx, halves on a 5xx, and on a 429 when rate_limit_rps is 0; at most "
        "max_concurrency).",
    )
    max_concurrency: int = Field(
        default=32, ge=1, description="Upper bound of concurrency 'auto' (http engine)."
    )
    rate_limit_rps: float = Field(
        default=20.0,
        ge=0,
        description="Most requests per second the http engine sends to Coupa, all POs "
        "together (0: no limit). Set it to your tenant's limit.",
    )
    rate_limit_burst: int = Field(
        default=20,
        ge=1,
        description="Requests the http engine may send at once before rate_limit_rps applies.",
    )
    ca_bundle: Path | None = Field(
        default=None,
        description="A PEM file of certificate authorities the http engine trusts besides "
        "the operating system's (e.g. a corporate TLS-inspection proxy's root).",
    )

    # --- REST API engine ----------------------------------------------------------
    api_client_id: str | None = Field(
        default=None,
        description="The OAuth 2.0 client id of engine 'api' (client credentials grant), "
        "from your Coupa administrator.",
    )
    api_client_secret: SecretStr | None = Field(
        default=None,
        description="That client's secret (never logged). Default: the one 'coupadl login "
        "--api' stored in the operating system's credential store.",
    )
    api_scopes: str = Field(
        default="core.purchase_order.read core.requisition.read core.common.read",
        description="The OAuth scopes engine 'api' asks for, space-separated.",
    )

    # --- browser ------------------------------------------------------------------
    browser: BrowserKind = Field(
        default=BrowserKind.CHROMIUM, description="Browser to drive: chromium, chrome or edge."
    )
    browser_binary: Path | None = Field(
        default=None, description="Path to the browser executable (default: found by name)."
    )
    driver_path: Path | None = Field(
        default=None,
        description="Path to chromedriver/msedgedriver (default: found on PATH; never downloaded).",
    )
    headless: bool = Field(default=True, description="Run the browser without a window.")
    grid_url: str | None = Field(
        default=None,
        description="A Selenium Grid 4 (hub or standalone server), e.g. http://grid:4444: "
        "each browser worker is a remote session there instead of a local browser. Its "
        "nodes need managed downloads (--enable-managed-downloads true); see docs/grid.md.",
    )
    grid_browser_args: list[str] = Field(
        default=[],
        description="Extra command-line arguments for browsers on the Grid, e.g. "
        "'--no-sandbox' when its nodes run as root (env: a JSON list).",
    )
    profile_dir: Path = Field(
        default_factory=default_profile_dir,
        description="The signed-in base browser profile written by 'coupadl login'. Default: "
        "%LOCALAPPDATA%\\coupadl\\base-profile (Windows), ~/Library/Application Support/"
        "coupadl/base-profile (macOS), ~/.local/share/coupadl/base-profile (Linux).",
    )

    # --- time limits (seconds) ------------------------------------------------------
    page_timeout: float = Field(
        default=60.0, gt=0, description="Longest wait for a Coupa page to load."
    )
    download_start_timeout: float = Field(
        default=30.0, gt=0, description="Longest wait for a clicked download to start."
    )
    download_stall_timeout: float = Field(
        default=60.0, gt=0, description="A download that grows by nothing for this long fails."
    )
    download_timeout: float = Field(
        default=600.0, gt=0, description="Longest time for one file to download."
    )

    # --- run ----------------------------------------------------------------------
    limit: int | None = Field(
        default=None, ge=1, description="Process at most this many POs of the input."
    )
    results_flush_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Least time between two rewrites of the results spreadsheet.",
    )
    only_failed: bool = Field(
        default=False,
        description="Process only the POs an earlier run into the same output folder "
        "queued and did not finish as done (FAILED, PARTIAL, TIMEOUT, AUTH_REQUIRED, or "
        "left pending by an interrupted run); POs no run has queued yet are left out.",
    )
    refresh: bool = Field(
        default=False,
        description="Read the POs earlier runs finished again and fetch only the files "
        "they do not have yet (NEW_FILES and LAST_REFRESHED in the results).",
    )

    # --- what a run shows and logs ------------------------------------------------
    log_file: Path | None = Field(
        default=None, description="Also write the run's log to this file (appended)."
    )
    log_format: LogFormat = Field(
        default=LogFormat.TEXT,
        description="Format of log_file: 'text' lines, or 'json' (one object per line per "
        "PO result, pool event and warning; needs log_file).",
    )
    status_interval: float = Field(
        default=30.0,
        gt=0,
        description="Seconds between two progress summary lines when not on a terminal.",
    )

    # --- pool ---------------------------------------------------------------------
    workers: int | Literal["auto"] = Field(
        default="auto",
        description="Browser workers: a number, or 'auto' (from free memory and CPUs; on a "
        "Grid, its free slots; at most max_workers). 1 means the sequential "
        "single-browser path.",
    )
    max_workers: int = Field(
        default=4, ge=1, description="Upper bound for 'auto' and for scaling back up."
    )
    enable_parallel: bool = Field(
        default=True, description="False forces the sequential single-browser path."
    )
    use_persistent_pool: bool = Field(
        default=True,
        validation_alias=AliasChoices("use_persistent_pool", "USE_PERSISTENT_POOL"),
        description="Use the persistent worker pool when more than one worker is asked for "
        "(env: USE_PERSISTENT_POOL, without prefix).",
    )
    profile_reuse_enabled: bool = Field(
        default=True,
        description="Give each worker a clone of the signed-in base profile; False starts "
        "workers on empty profiles and copies the session cookies in over CDP.",
    )
    profile_cleanup_on_start: bool = Field(
        default=True, description="Remove profile clones left behind by a crashed run."
    )
    task_timeout: float = Field(
        default=300.0,
        gt=0,
        description="A worker that reports no progress for this long is killed and restarted.",
    )
    max_retries: int = Field(
        default=3, ge=0, description="Retries of a PO after a transient failure."
    )
    retry_backoff: float = Field(
        default=2.0, gt=0, description="First retry delay; doubles per retry, with jitter."
    )
    retry_backoff_max: float = Field(default=60.0, gt=0, description="Longest retry delay.")
    max_restarts: int = Field(
        default=5, ge=0, description="Restarts of one worker before it is given up."
    )
    rate_limit_pause: float = Field(
        default=30.0,
        ge=0,
        description="After HTTP 429 (Too Many Requests) no browser starts a new PO for this "
        "long, unless Coupa's page names the wait (then that wait).",
    )
    rate_limit_max_pause: float = Field(
        default=600.0, ge=0, description="Longest pause after HTTP 429, whatever Coupa asks."
    )
    memory_budget_mb: int | None = Field(
        default=None,
        ge=256,
        description="Memory the workers may use together (default: 70% of available RAM).",
    )
    fresh_tab_every: int = Field(
        default=25,
        ge=1,
        description="POs one browser tab serves before it is replaced by a fresh one "
        "(1: a new tab for every PO, which costs about 3x the CPU; see docs/benchmarks.md).",
    )
    recycle_after: int = Field(
        default=0, ge=0, description="Restart a worker's browser after this many POs (0: never)."
    )
    shutdown_timeout: float = Field(
        default=30.0, gt=0, description="How long a graceful stop waits for POs in flight."
    )

    @field_validator("base_url", "grid_url")
    @classmethod
    def _strip_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("file_hosts", mode="before")
    @classmethod
    def _parse_file_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list | tuple):
            return value
        hosts = []
        for item in value:
            text = str(item).strip().lower()
            if "://" in text:  # a URL was given: keep its host
                text = urlsplit(text).hostname or ""
            text = text.rstrip("/")
            if not text:
                continue
            if any(c in text for c in "/?#@ ") or text.count("*") > (text.startswith("*.")):
                raise ValueError(f"{item!r} is not a host name or '*.domain' pattern")
            hosts.append(text)
        return hosts

    @model_validator(mode="after")
    def _refuse_plain_http(self) -> Settings:
        if not self.base_url or not self.base_url.startswith("http://"):
            return self
        host = urlsplit(self.base_url).hostname
        if not self.allow_insecure_http and not is_loopback_host(host):
            raise ValueError(
                f"base_url {self.base_url} is plain http:// on {host}: the session cookie "
                "would cross the network unencrypted. Use https://, or set "
                "allow_insecure_http (COUPA_ALLOW_INSECURE_HTTP=1) if you really mean it"
            )
        return self

    @field_validator("workers", "concurrency", mode="before")
    @classmethod
    def _parse_workers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return "auto" if value.strip().lower() == "auto" else int(value)
        if isinstance(value, int) and value < 1:
            raise ValueError("must be at least 1 or 'auto'")
        return value

    def require_base_url(self) -> str:
        if not self.base_url:
            raise ConfigError(
                "No Coupa URL: pass --base-url https://<company>.coupahost.com "
                "or set COUPA_BASE_URL."
            )
        return self.base_url


def load_settings(
    overrides: dict[str, Any] | None = None, config_file: Path | None = None
) -> Settings:
    """Build settings from flags (``overrides``; ``None`` values mean "not given"),
    environment, config file and defaults. Raises :class:`ConfigError` on bad values."""
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    cls = settings_class(Settings, find_config_file(config_file))
    try:
        loaded = cls(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"Invalid settings: {problems}") from exc
    # A plain Settings (not the per-call subclass, which pickle cannot name) so the
    # pool can hand it to worker processes. Values are already validated.
    return Settings.model_construct(_fields_set=set(loaded.model_fields_set), **dict(loaded))
