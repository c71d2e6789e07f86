"""Doctor check of the tenant: does it answer over HTTP, and by which route (proxy)?"""

from __future__ import annotations

import http.client
import ipaddress
import os
import ssl
import urllib.request
from collections.abc import Callable
from typing import NamedTuple
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit, urlunsplit

from coupadl import __version__
from coupadl.coupa.urls import is_sign_in_url, same_tenant
from coupadl.doctor.result import Check, Level

DEFAULT_TENANT_TIMEOUT = 10.0  # seconds for the tenant's HTTP answer


class HttpAnswer(NamedTuple):
    status: int | None  # None: no HTTP answer at all
    location: str = ""  # the redirect target of a 3xx
    error: str = ""  # why there was no answer
    tls: bool = False  # the error was a TLS certificate problem


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # report the redirect instead of following it


def fetch(url: str, timeout: float, proxy: str | None = None) -> HttpAnswer:
    """GET ``url`` once, through ``proxy`` or directly; redirects are not followed."""
    scheme = urlsplit(url).scheme
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({scheme: proxy} if proxy else {}), _NoRedirect
    )
    request = urllib.request.Request(
        url, headers={"User-Agent": f"coupadl/{__version__} (doctor)"}, method="GET"
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            return HttpAnswer(response.status, response.headers.get("Location", ""))
    except HTTPError as exc:  # 3xx (not followed), 4xx and 5xx
        return HttpAnswer(exc.code, exc.headers.get("Location", "") if exc.headers else "")
    except URLError as exc:
        tls = isinstance(exc.reason, ssl.SSLError)
        return HttpAnswer(None, error=str(exc.reason), tls=tls)
    except (TimeoutError, http.client.HTTPException, OSError) as exc:
        return HttpAnswer(None, error=str(exc) or type(exc).__name__)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _route(url: str) -> tuple[str | None, str]:
    """(the proxy to use or None, how the tenant is reached, in words) for ``url``.

    From the proxy variables (or the system settings Python reads on Windows/macOS);
    this computer's own addresses are reached directly, as browsers do."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy:
        return None, "direct, no proxy set"
    if _is_loopback(host):
        return None, f"direct: {host} is this computer"
    if urllib.request.proxy_bypass(host):
        return None, f"direct: {host} is in NO_PROXY"
    wanted = {f"{parts.scheme}_proxy", "all_proxy"}
    source = ", ".join(sorted(n for n in os.environ if n.lower() in wanted)) or "system settings"
    return proxy, f"via proxy {_redact(proxy)} ({source})"


def check_tenant(
    base_url: str | None,
    timeout: float = DEFAULT_TENANT_TIMEOUT,
    get: Callable[[str, float, str | None], HttpAnswer] = fetch,
) -> Check:
    """Does the tenant answer over HTTP? Reports status, redirect and proxy."""
    if not base_url:
        return Check(
            "tenant",
            Level.FAIL,
            "no Coupa URL set",
            "pass --base-url https://<company>.coupahost.com or set COUPA_BASE_URL",
        )
    proxy, route = _route(base_url)
    host = urlsplit(base_url).hostname or base_url
    answer = get(base_url + "/", timeout, proxy)
    if answer.status is None:
        if answer.tls:
            advice = (
                "a corporate proxy that inspects TLS uses its own certificate: point "
                "SSL_CERT_FILE at your company's CA bundle for this check"
            )
        elif proxy:
            advice = (
                f"check the proxy {_redact(proxy)} and its variables, or add {host} to NO_PROXY "
                "if it is reached directly"
            )
        else:
            advice = (
                "check the URL and your VPN; behind a corporate proxy set HTTPS_PROXY "
                "(and NO_PROXY)"
            )
        return Check(
            "tenant", Level.FAIL, f"{host} did not answer: {answer.error} ({route})", advice
        )
    status = answer.status
    if status == 407:
        return Check(
            "tenant",
            Level.FAIL,
            f"the proxy wants a password (HTTP 407, {route})",
            "put the proxy's user and password in HTTPS_PROXY (http://user:pass@host:port)",
        )
    if 300 <= status < 400:
        redirect = _describe_redirect(answer.location, base_url)
        return Check("tenant", Level.OK, f"{host} answered {status}, {redirect} ({route})")
    if status < 300:
        return Check("tenant", Level.OK, f"{host} answered {status} ({route})")
    if status == 404:
        advice = "check --base-url: it is the tenant's address, https://<company>.coupahost.com"
    elif status in (429,) or status >= 500:
        advice = "Coupa or a proxy is busy or down: try again later"
    else:
        advice = "check --base-url and the proxy: something refused the request"
    return Check("tenant", Level.WARN, f"{host} answered HTTP {status} ({route})", advice)


def _describe_redirect(location: str, base_url: str) -> str:
    if not location:
        return "a redirect without a target"
    target = urlsplit(location)
    if not same_tenant(location, base_url):
        return f"to {target.hostname} (single sign-on)"
    if is_sign_in_url(location, base_url):
        return "to its sign-in form"
    return f"to {target.path or '/'}"
