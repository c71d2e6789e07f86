"""Keep downloads on the tenant's hosts, and learn at once when a download fails.

An attachment link, or the redirect a file request answers with, could send the browser
to any host; what comes back would be saved in the user's folders as if Coupa had sent
it. Only the tenant's host (from ``base_url``) and the configured ``file_hosts`` (an
S3-like store some tenants serve files from) may serve a download.

How it is enforced, and why this way:

* Before a download is started, its link is checked (:meth:`HostPolicy.allows`).
* Redirects happen inside the browser, so each worker browser gets a :class:`HostGuard`:
  a second DevTools connection to the browser target with ``Fetch`` interception of
  document-like requests (navigations and downloads; a download is a navigation that
  turned into a file). While the guard is armed, from a download's start to the next
  page navigation, every hop to a host outside the policy is failed
  (``BlockedByClient``), logged and remembered, so the processor can fail that one file
  at once instead of waiting for a download that never starts.
* Not armed during page navigations, so sign-in redirects to an SSO identity provider on
  another host still happen (and are recognised as such). Scripts, styles, images and
  XHR are never intercepted: real Coupa pages load them from other hosts (CDNs,
  analytics), and blocking them would break pages for nothing.
* Not ``--host-resolver-rules``: it would have to name every host a page may use, and
  behind a proxy the browser does not resolve host names itself, so the rule would
  silently do nothing (or make the proxy itself unresolvable). Interception works the
  same with or without a proxy.

The same connection sets the download folder with progress events on, so a download
the browser gives up on (the server closed the connection before the Content-Length it
announced, say) fails at once with the byte counts, instead of after a stall timeout.

If the guard cannot connect (an unusual browser build), that is logged and the link
check still applies; a lost connection ends interception in the browser too (Chromium
releases paused requests when the client goes away).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websocket

from coupadl.engine.hosts import HostPolicy, redact

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT = 10.0
_INTERCEPTED = ("Document", "Other")


def debugger_address(capabilities: dict[str, Any]) -> str | None:
    """The browser's DevTools ``host:port`` from the driver's capabilities."""
    for key in ("goog:chromeOptions", "ms:edgeOptions"):
        address = (capabilities.get(key) or {}).get("debuggerAddress")
        if address:
            return str(address)
    return None


@dataclass
class DownloadSeen:
    """What the browser reported about the download into one folder."""

    url: str = ""
    state: str = "pending"  # then inProgress, completed or canceled
    received: int = 0  # the most bytes seen (a canceled download reports 0)
    total: int = 0
    file_path: str = ""  # where the browser saved it (reported once completed)
    guid: str = ""


class HostGuard:
    """One browser's downloads: only from :class:`HostPolicy` hosts, and their progress."""

    def __init__(self, policy: HostPolicy, address: str = "", endpoint: str = "") -> None:
        """``address`` is a local browser's DevTools ``host:port``; ``endpoint`` a
        DevTools WebSocket URL as it is (a Grid's ``se:cdp``, which proxies the remote
        browser's own)."""
        self.policy = policy
        self.address = address
        self.endpoint = endpoint
        self._ws: websocket.WebSocket | None = None
        self._thread: threading.Thread | None = None
        self._armed = threading.Event()
        self._lock = threading.Lock()
        self._next_id = 0
        self._replies: dict[int, tuple[threading.Event, dict[str, Any]]] = {}
        self._folder = ""  # the folder the next download goes to
        self._downloads: dict[str, DownloadSeen] = {}
        self._folder_of_guid: dict[str, str] = {}
        self._blocked: dict[str, list[str]] = {}  # folder -> refused URLs (redacted)

    @property
    def active(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Connect and intercept; False (logged) when the browser cannot be watched."""
        try:
            endpoint = self.endpoint or self._local_endpoint()
            self._ws = websocket.create_connection(
                endpoint, timeout=_CONNECT_TIMEOUT, suppress_origin=True
            )
            patterns = [{"urlPattern": "*", "resourceType": t} for t in _INTERCEPTED]
            self._call("Fetch.enable", {"patterns": patterns})
            self._ws.settimeout(None)  # the reader blocks until a message or the close
        except (OSError, ValueError, KeyError, websocket.WebSocketException) as exc:
            log.warning(
                "cannot watch where downloads are redirected (%s); attachment links are "
                "still checked against the allowed hosts",
                exc,
            )
            self.close()
            return False
        self._thread = threading.Thread(target=self._read, name="coupadl-hostguard", daemon=True)
        self._thread.start()
        return True

    def _local_endpoint(self) -> str:
        # No proxy: a local browser's DevTools endpoint is on this computer.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://{self.address}/json/version", timeout=_CONNECT_TIMEOUT) as r:
            return str(json.loads(r.read())["webSocketDebuggerUrl"])

    def _send(self, method: str, params: dict[str, Any]) -> int:
        ws = self._ws
        if ws is None:
            raise websocket.WebSocketConnectionClosedException("the host guard is closed")
        with self._lock:
            self._next_id += 1
            ident = self._next_id
        ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        return ident

    def _call(self, method: str, params: dict[str, Any]) -> None:
        """Send and wait for the answer (only before the reader thread runs)."""
        assert self._ws is not None
        ident = self._send(method, params)
        while True:
            message = json.loads(self._ws.recv())
            if message.get("method") == "Fetch.requestPaused":
                self._decide(message["params"])  # never leave a request hanging
            elif message.get("id") == ident:
                if "error" in message:
                    raise ValueError(f"{method}: {message['error']}")
                return

    def _request(self, method: str, params: dict[str, Any], timeout: float = 10.0) -> bool:
        """Send through the reader thread and wait for the answer; False on error."""
        done = threading.Event()
        answer: dict[str, Any] = {}
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            self._replies[ident] = (done, answer)
        try:
            ws = self._ws
            if ws is None or not self.active:
                return False
            ws.send(json.dumps({"id": ident, "method": method, "params": params}))
            if not done.wait(timeout):
                log.warning("the browser did not answer %s within %.0f s", method, timeout)
                return False
        except (OSError, websocket.WebSocketException) as exc:
            log.warning("%s over the host guard connection failed: %s", method, exc)
            return False
        finally:
            with self._lock:
                self._replies.pop(ident, None)
        if "error" in answer:
            log.warning("%s failed: %s", method, answer["error"])
            return False
        return True

    def set_download_dir(self, folder: Path) -> bool:
        """Send the next download to ``folder`` and watch it; False: not done (logged)."""
        key = str(folder)
        params = {"behavior": "allowAndName", "downloadPath": key, "eventsEnabled": True}
        return self._watch(key, params)

    def watch_next_download(self, key: Path) -> bool:
        """Watch the next download under ``key`` where the browser saves it by itself
        (a remote browser: its node's folder, never a path on this computer)."""
        return self._watch(str(key), {"behavior": "default", "eventsEnabled": True})

    def download(self, key: Path) -> DownloadSeen | None:
        """A copy of what the browser reported of the download watched under ``key``."""
        with self._lock:
            found = self._downloads.get(str(key))
            return dataclasses.replace(found) if found is not None else None

    def cancel_unfinished(self) -> None:
        """Cancel every download still running (a PO given up on leaves none behind)."""
        with self._lock:
            running = [
                d.guid
                for d in self._downloads.values()
                if d.guid and d.state in ("pending", "inProgress")
            ]
            self._downloads.clear()
            self._folder_of_guid.clear()
        for guid in running:
            self._request("Browser.cancelDownload", {"guid": guid})

    def _watch(self, key: str, params: dict[str, Any]) -> bool:
        done = self._request("Browser.setDownloadBehavior", params)
        # Only now: the earlier download's "will begin" event came before this answer
        # on the same connection, so it was filed under the earlier folder.
        with self._lock:
            self._folder = key
            self._downloads[key] = DownloadSeen()
            self._blocked.pop(key, None)
        return done

    def arm(self) -> None:
        """Refuse foreign hosts from now on (a download is being started)."""
        self._armed.set()

    def disarm(self) -> None:
        """Let navigations go anywhere (a page is being opened; SSO may redirect)."""
        self._armed.clear()

    def problem(self, folder: Path) -> str | None:
        """Why the download into ``folder`` failed in the browser, or None (not yet)."""
        key = str(folder)
        with self._lock:
            blocked = list(self._blocked.get(key, ()))
            download = self._downloads.get(key)
        if blocked:
            return (
                f"the server redirected the download to {blocked[-1]}; refused: "
                f"{self.policy.refusal(blocked[-1])}"
            )
        if download is None or download.state != "canceled":
            return None
        if download.total and download.received < download.total:
            return (
                f"the connection closed after {download.received:,} of the "
                f"{download.total:,} bytes the server announced"
            )
        return "the browser gave up on the download (the connection failed)"

    def _on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Browser.downloadWillBegin":
            with self._lock:
                self._folder_of_guid[params["guid"]] = self._folder
                begun = self._downloads.setdefault(self._folder, DownloadSeen())
                begun.url = redact(str(params.get("url", "")))
                begun.guid = str(params["guid"])
        elif method == "Browser.downloadProgress":
            guid = params["guid"]
            with self._lock:
                key = self._folder_of_guid.get(guid)
                download = self._downloads.get(key) if key is not None else None
                if download is None:
                    return
                received = int(params.get("receivedBytes", 0))
                state = str(params.get("state", download.state))
                # Fewer bytes than before: the connection broke and the browser starts
                # the download over by itself (again and again if the server keeps
                # breaking it), into whatever folder is current by then. Stop it: the
                # PO is retried as a whole instead.
                restarted = state == "inProgress" and received < download.received
                if restarted and download.state != "canceled":
                    state = "canceled"
                download.state = state
                download.received = max(download.received, received)
                download.total = int(params.get("totalBytes", 0)) or download.total
                download.file_path = str(params.get("filePath", "")) or download.file_path
            if restarted:
                self._send("Browser.cancelDownload", {"guid": guid})
            if download.state == "canceled":
                log.info("the browser gave up on the download from %s", download.url)

    def _read(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            self._read_until_closed(ws)
        finally:
            # However the loop ended, close the connection: Chromium then stops
            # intercepting, so no request can wait for an answer that never comes.
            try:
                ws.close()
            except (OSError, websocket.WebSocketException) as exc:
                log.debug("closing the host guard connection: %s", exc)

    def _read_until_closed(self, ws: websocket.WebSocket) -> None:
        while True:
            try:
                message = json.loads(ws.recv())
            except (OSError, ValueError, websocket.WebSocketException):
                return  # the browser quit or the guard was closed
            method = message.get("method")
            try:
                if method == "Fetch.requestPaused":
                    self._decide(message["params"])
                elif method is not None:
                    self._on_event(method, message.get("params", {}))
                elif "id" in message:
                    with self._lock:
                        waiting = self._replies.get(message["id"])
                    if waiting is not None:
                        waiting[1].update(message)
                        waiting[0].set()
            except (OSError, websocket.WebSocketException):
                return
            except (KeyError, TypeError, ValueError) as exc:  # a message we do not understand
                log.warning("host guard: unexpected DevTools message %s: %s", method, exc)

    def _decide(self, params: dict[str, Any]) -> None:
        request_id = params["requestId"]
        url = str(params.get("request", {}).get("url", ""))
        if not self._armed.is_set() or self.policy.allows(url):
            self._send("Fetch.continueRequest", {"requestId": request_id})
            return
        shown = redact(url)
        log.warning("refused a download from %s: %s", shown, self.policy.refusal(url))
        with self._lock:
            self._blocked.setdefault(self._folder, []).append(shown)
        self._send("Fetch.failRequest", {"requestId": request_id, "errorReason": "BlockedByClient"})

    def close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                ws.close()
            except (OSError, websocket.WebSocketException) as exc:
                log.debug("closing the host guard connection: %s", exc)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
