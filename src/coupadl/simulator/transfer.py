"""Sending a file body the way a slow or broken server would: throttled, stalled or cut.

A raw ASGI response, because the faults need what ``StreamingResponse`` hides: ending
without completing the body (the server then closes the connection) and noticing
that the client went away while we hang.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import anyio

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_MIN_CHUNK = 1024
_TICKS_PER_SECOND = 10  # throttled bodies go out in about ten chunks a second

Scope = MutableMapping[str, Any]


class _DropFilter(logging.Filter):
    """Hides uvicorn's complaint about bodies we cut short on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def quiet_intentional_drops() -> None:
    """Install the filter on uvicorn's error logger (once)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropFilter) for f in logger.filters):
        logger.addFilter(_DropFilter())


class FaultyBody:
    """An ASGI response for ``data`` honouring bandwidth, stall and drop settings."""

    def __init__(
        self,
        data: bytes,
        headers: list[tuple[bytes, bytes]],
        *,
        bandwidth: int = 0,
        stall_after: int | None = None,
        stall_seconds: float = 60.0,
        drop_after: int | None = None,
        claim_extra: int = 0,
    ) -> None:
        self.data = data
        # claim_extra > 0: the Content-Length promises more than the body (a broken server).
        length = str(len(data) + claim_extra).encode()
        self.headers = [*headers, (b"content-length", length)]
        self.claim_extra = claim_extra
        self.bandwidth = bandwidth
        self.stall_after = stall_after
        self.stall_seconds = stall_seconds
        self.drop_after = drop_after

    def _chunk_size(self) -> int:
        if not self.bandwidth:
            return _CHUNK
        return max(_MIN_CHUNK, min(_CHUNK, self.bandwidth // _TICKS_PER_SECOND))

    def _cut(self) -> int:
        """Bytes to send before stalling or dropping (whichever comes first)."""
        limits = [n for n in (self.stall_after, self.drop_after) if n is not None]
        return min([len(self.data), *limits])

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        async with anyio.create_task_group() as group:

            async def watch_disconnect() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()

            group.start_soon(watch_disconnect)
            await self._send_body(send)
            group.cancel_scope.cancel()

    async def _send_body(self, send: Any) -> None:
        cut = self._cut()
        size = self._chunk_size()
        for start in range(0, cut, size):
            chunk = self.data[start : min(start + size, cut)]
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if self.bandwidth:
                await anyio.sleep(len(chunk) / self.bandwidth)
        if cut == len(self.data) and not self.claim_extra:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if cut == len(self.data):
            log.debug("dropping a file response %d bytes short of its Content-Length",
                      self.claim_extra)  # fmt: skip
            return
        stalls = self.stall_after is not None and (
            self.drop_after is None or self.stall_after <= self.drop_after
        )
        if stalls:
            log.debug("stalling a file response after %d bytes", cut)
            await anyio.sleep(self.stall_seconds)
        # Returning with the body incomplete makes the server close the connection.
        log.debug("dropping a file response after %d bytes", cut)
