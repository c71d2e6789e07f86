"""Every stop signal of coupadl, in one place: Ctrl+C, SIGTERM, Ctrl+Break.

A run means the same by them in every mode: the first lets the POs in flight finish
(nothing new starts), the second aborts at once. :func:`graceful_interrupts` is the
one-browser path's (the main thread drives the browser, and a KeyboardInterrupt in the
middle of a download would waste that PO); :func:`install_signal_handlers` hands the
same presses to the pool. Outside a run, :func:`terminate_as_interrupt` makes SIGTERM a
KeyboardInterrupt like Ctrl+C. All leave a signal alone when the process was started
with it ignored (nohup, a script's "cmd &").
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, Protocol

log = logging.getLogger(__name__)


def stop_signals() -> list[signal.Signals]:
    """The signals that stop a run: Ctrl+C, SIGTERM, and Ctrl+Break on Windows."""
    names = ["SIGINT", "SIGTERM", "SIGBREAK"]
    return [getattr(signal, name) for name in names if hasattr(signal, name)]


def started_ignored(sig: signal.Signals) -> bool:
    """True (and logged) when ``sig`` is ignored in this process. Whoever started us chose
    that (nohup, a script's "cmd &"): the run leaves it ignored."""
    if signal.getsignal(sig) != signal.SIG_IGN:
        return False
    log.info("%s is ignored in this process: it will not stop the run", sig.name)
    return True


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def terminate_as_interrupt() -> None:
    """Outside a run's own handling, SIGTERM (and Ctrl+Break on Windows) stop the
    program as Ctrl+C does: a KeyboardInterrupt, so cleanup code runs. Signals started
    ignored stay ignored. :func:`graceful_interrupts` and the pool's handlers take these
    over while POs are in flight."""
    for sig in stop_signals():
        if sig is not signal.SIGINT and not started_ignored(sig):
            signal.signal(sig, _raise_interrupt)


# Handlers a run may replace: Python's own, the OS default, and terminate_as_interrupt's.
_REPLACEABLE = (signal.default_int_handler, signal.SIG_DFL, _raise_interrupt)


@contextmanager
def graceful_interrupts(
    on_interrupt: Callable[[int], None] | None = None,
) -> Iterator[threading.Event]:
    """Within the block, the first SIGINT or SIGTERM sets the yielded event, the second
    raises KeyboardInterrupt. ``on_interrupt(count)`` is told of each, on a thread of its
    own. Off the main thread nothing changes; neither does a signal that is ignored or
    that someone else already handles."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    ours = [
        sig
        for sig in stop_signals()
        if not started_ignored(sig) and signal.getsignal(sig) in _REPLACEABLE
    ]
    if not ours:
        yield stop
        return
    count = 0
    # The handler runs between two bytecodes of the main thread, maybe half-way through
    # a log line under the dashboard: it only queues (SimpleQueue.put is reentrant) and a
    # thread does the logging and the telling.
    presses: queue.SimpleQueue[tuple[int, str] | None] = queue.SimpleQueue()

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal count
        count += 1
        presses.put((count, signal.Signals(signum).name))
        if count == 1:
            stop.set()
            return
        raise KeyboardInterrupt

    def react() -> None:
        while (press := presses.get()) is not None:
            n, name = press
            if n == 1:
                log.warning("%s: finishing the PO in flight (again to abort)", name)
            else:
                log.warning("%s again: aborting", name)
            if on_interrupt is not None:
                try:
                    on_interrupt(n)
                except Exception:
                    log.exception("reporting an interrupt failed")

    reactor = threading.Thread(target=react, name="coupadl-interrupts", daemon=True)
    reactor.start()
    previous = {sig: signal.signal(sig, handle) for sig in ours}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        presses.put(None)
        reactor.join(2.0)  # so the interrupts are reported before the run's end


class Stoppable(Protocol):
    def request_shutdown(self, graceful: bool = True) -> None: ...


def install_signal_handlers(
    target: Stoppable, on_signal: Callable[[int], None] | None = None
) -> Callable[[], None]:
    """Route SIGINT/SIGTERM (and SIGBREAK on Windows) to ``target`` (the pool), except those this
    process was started with ignored; returns a function that puts the previous handlers
    back. Call from the main thread (Python's rule).
    ``on_signal(count)`` is told of each signal (1: graceful stop, 2+: abort).

    The handler itself only counts and hands over to a thread started here: a signal
    handler runs between two bytecodes of the main thread, which may hold the pool's
    lock, or be half-way through printing a line under the live dashboard.
    ``SimpleQueue.put`` is safe there (reentrant); logging or starting a thread is not."""
    count = 0
    previous: dict[signal.Signals, Any] = {}
    signals: queue.SimpleQueue[tuple[int, str] | None] = queue.SimpleQueue()

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal count
        count += 1
        signals.put((count, signal.Signals(signum).name))

    def reactor() -> None:
        while (item := signals.get()) is not None:
            try:
                react(*item)
            except Exception:
                log.exception("handling a stop signal failed")

    def react(count: int, name: str) -> None:
        if on_signal is not None:
            on_signal(count)
        if count == 1:
            log.warning(
                "%s: stopping after the POs in flight (again to abort now); "
                "re-run the same command to resume",
                name,
            )
            target.request_shutdown(graceful=True)
        else:
            log.warning("%s again: aborting; closing every browser now", name)
            target.request_shutdown(graceful=False)

    threading.Thread(target=reactor, name="coupadl-signals", daemon=True).start()
    for sig in stop_signals():
        if not started_ignored(sig):
            previous[sig] = signal.signal(sig, handle)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)
        signals.put(None)  # the reactor ends once the signals so far are handled

    return restore
