"""``coupadl sim``: serve the Coupa simulator in the foreground, its knobs as flags. A thin
shell over :func:`coupadl.simulator.server.serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from coupadl.cli.common import Verbose, console, setup_logging
from coupadl.errors import ExitCode


def sim(
    host: Annotated[str, typer.Option(help="Address to bind (loopback only by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8765,
    pos: Annotated[int, typer.Option("--pos", help="Number of POs in the data set.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the data set.")] = 1,
    page_latency: Annotated[float, typer.Option(help="Server time per page, seconds.")] = 0.0,
    file_bandwidth: Annotated[
        int, typer.Option(help="Bytes per second per file download (0: unlimited).")
    ] = 0,
    error_rate: Annotated[float, typer.Option(help="Share of requests answered HTTP 500.")] = 0.0,
    rate_429: Annotated[
        float, typer.Option("--rate-429", help="Share of requests answered HTTP 429.")
    ] = 0.0,
    retry_after: Annotated[int, typer.Option(help="Retry-After seconds sent with 429.")] = 2,
    stall_after_bytes: Annotated[
        int | None, typer.Option(help="Files stop sending after this many bytes.")
    ] = None,
    drop_after_bytes: Annotated[
        int | None, typer.Option(help="File connections drop after this many bytes.")
    ] = None,
    session_ttl: Annotated[float, typer.Option(help="Session lifetime, seconds.")] = 7200.0,
    token_ttl: Annotated[float, typer.Option(help="REST API token lifetime, seconds.")] = 86399.0,
    session_max_requests: Annotated[
        int | None, typer.Option(help="Sessions expire after this many page requests.")
    ] = None,
    sso_after: Annotated[
        float | None,
        typer.Option(
            help="SSO tenant: send anonymous browsers to an identity provider on another "
            "host name that signs in by itself after this many seconds."
        ),
    ] = None,
    rate_limit_rps: Annotated[
        float,
        typer.Option(
            help="Tenant-wide rate limit, requests per second over all sessions; over it, "
            "HTTP 429 with Retry-After (0: off)."
        ),
    ] = 0.0,
    rate_limit_burst: Annotated[
        int, typer.Option(help="Requests the rate limit lets through at once.")
    ] = 20,
    script_attachments_share: Annotated[
        float,
        typer.Option(
            help="Share of POs (0-1) whose page lists its attachments only through an "
            "inline script: no links in the HTML, a browser sees them all."
        ),
    ] = 0.0,
    tls_cert: Annotated[
        Path | None, typer.Option(help="Serve HTTPS with this certificate (PEM).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="The certificate's key (PEM).")] = None,
    small_files: Annotated[
        bool, typer.Option(help="No 2-4 MB files (one PO in ten has one): for big data sets.")
    ] = False,
    allow_remote: Annotated[
        bool, typer.Option(help="Allow binding an address other than loopback.")
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Serve a local Coupa simulator (see GET /__sim__/manifest for the truth)."""
    from coupadl.simulator.faults import make_knobs
    from coupadl.simulator.server import check_host, check_tls, serve

    setup_logging(verbose, False)
    knobs: dict[str, Any] = {
        "page_latency": page_latency,
        "file_bandwidth": file_bandwidth,
        "error_rate_500": error_rate,
        "rate_429": rate_429,
        "retry_after": retry_after,
        "stall_after_bytes": stall_after_bytes,
        "drop_after_bytes": drop_after_bytes,
        "session_ttl": session_ttl,
        "session_max_requests": session_max_requests,
        "token_ttl": token_ttl,
        "sso_after": sso_after,
        "rate_limit_rps": rate_limit_rps,
        "rate_limit_burst": rate_limit_burst,
        "script_attachments_share": script_attachments_share,
    }
    try:
        check_host(host, allow_remote)
        check_tls(tls_cert, tls_key)
        make_knobs(**knobs)
    except ValueError as exc:  # a non-loopback address without --allow-remote, bad TLS or knob
        console.print(f"[bold red]error[/] [E_CONFIG] {exc}")
        raise typer.Exit(int(ExitCode.USAGE)) from None
    serve(host=host, port=port, n_pos=pos, seed=seed, large_files=not small_files,
          allow_remote=allow_remote, tls_cert=tls_cert, tls_key=tls_key, **knobs)  # fmt: skip
