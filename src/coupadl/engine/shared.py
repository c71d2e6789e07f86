"""Objects that the handlers of one process share, one per run: made by the first
handler to start, joined by the others, closed by the last to stop (reference counted).
Handlers of one run are made with equal settings, so the settings name the run."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from coupadl.settings import Settings

T = TypeVar("T")


def run_key(settings: Settings) -> str:
    """The run ``settings`` belong to (a ``SecretStr`` dumps as "**********")."""
    return settings.model_dump_json()


class Shared(Generic[T]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[T, int]] = {}

    def acquire(self, key: str, make: Callable[[], T]) -> T:
        """The object for ``key``, made with ``make()`` when there is none (under the
        lock: a second handler starting meanwhile waits and joins it)."""
        with self._lock:
            if key in self._items:
                item, users = self._items[key]
                self._items[key] = (item, users + 1)
                return item
            item = make()
            self._items[key] = (item, 1)
            return item

    def release(self, key: str, item: T, close: Callable[[T], None]) -> None:
        """One user less; the last one closes ``item`` (outside the lock)."""
        with self._lock:
            current = self._items.get(key)
            if current is None or current[0] is not item:
                return  # already closed
            users = current[1] - 1
            if users > 0:
                self._items[key] = (item, users)
                return
            del self._items[key]
        close(item)
