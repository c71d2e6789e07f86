"""Ctrl+C for the one-browser path, with the pool's meaning: the first one lets the PO in
flight finish (nothing new starts), the second aborts at once (KeyboardInterrupt).

The pool path hands the same two presses to the pool (see pool/signals.py); here the
main thread is the one driving the browser, and a KeyboardInterrupt in the middle of a
download would waste that PO. Both leave SIGINT alone when the process was started with
it ignored (nohup, a script's "cmd &").
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)


@contextmanager
def graceful_interrupts(
    on_interrupt: Callable[[int], None] | None = None,
) -> Iterator[threading.Event]:
    """Within the block, the first SIGINT sets the yielded event, the second raises
    KeyboardInterrupt. ``on_interrupt(count)`` is told of each, on a thread of its own.
    Off the main thread, or when someone else already handles SIGINT, nothing changes:
    the event is never set and Ctrl+C interrupts as before."""
    stop = threading.Event()
    current = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or (
        current is not signal.default_int_handler
    ):
        if current == signal.SIG_IGN:
            log.info("SIGINT is ignored in this process: it will not stop the run")
        yield stop
        return
    count = 0
    # The handler runs between two bytecodes of the main thread, maybe half-way through
    # a log line under the dashboard: it only queues (SimpleQueue.put is reentrant) and a
    # thread does the logging and the telling.
    presses: queue.SimpleQueue[int | None] = queue.SimpleQueue()

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal count
        count += 1
        presses.put(count)
        if count == 1:
            stop.set()
            return
        raise KeyboardInterrupt

    def react() -> None:
        while (n := presses.get()) is not None:
            if n == 1:
                log.warning("interrupted: finishing the PO in flight (Ctrl+C again to abort)")
            else:
                log.warning("interrupted again: aborting")
            if on_interrupt is not None:
                try:
                    on_interrupt(n)
                except Exception:
                    log.exception("reporting an interrupt failed")

    reactor = threading.Thread(target=react, name="coupadl-interrupts", daemon=True)
    reactor.start()
    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
        presses.put(None)
        reactor.join(2.0)  # so the interrupts are reported before the run's end
