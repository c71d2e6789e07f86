"""The running simulator's live state: data set, knobs, sessions, counters, file digests.

``create_app`` keeps one :class:`SimState` as ``app.state.sim``; the route handlers
reach it with :func:`state_of`, ``SimulatorServer`` uses it directly and
``/__sim__/*`` exposes it over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from coupadl.simulator.auth import Credentials, Sessions
from coupadl.simulator.data.additions import add_attachment
from coupadl.simulator.data.manifest import build_manifest
from coupadl.simulator.data.model import Dataset, PurchaseOrder, SimFile
from coupadl.simulator.faults import Faults
from coupadl.simulator.files import FileStore
from coupadl.simulator.pages.filler import Filler
from coupadl.simulator.ratelimit import TokenBucket
from coupadl.simulator.stats import Stats


@dataclass
class SimState:
    """Everything the running simulator knows and counts."""

    dataset: Dataset
    faults: Faults
    credentials: Credentials
    sessions: Sessions
    stats: Stats = field(default_factory=Stats)
    store: FileStore = field(default_factory=FileStore)
    filler: Filler | None = None
    limiter: TokenBucket = field(default_factory=TokenBucket)  # the tenant's rate limit
    # Told of a PO that changed (the REST API's catalog indexes POs: app.py sets it).
    po_changed: Callable[[PurchaseOrder], None] | None = None

    def manifest(self, base_url: str, fallback: str | None = None) -> dict[str, Any]:
        return build_manifest(
            self.dataset,
            base_url=base_url,
            credentials=self.credentials.as_dict(),
            digest=self.store.digest,
            message=self.store.message,
            fallback=fallback,
            script_share=self.faults.knobs.script_attachments_share,
            extra_share=self.faults.knobs.script_extra_share,
        )

    def add_attachment(self, po_number: str, name: str, size: int = 4096) -> SimFile:
        """A new file on the PO (see :mod:`coupadl.simulator.data.additions`), shown by
        its page, by the REST API and by the manifest from now on."""
        sim = add_attachment(self.dataset, po_number, name, size)
        if self.po_changed is not None:
            self.po_changed(self.dataset.pos[po_number])
        return sim


def state_of(request: Request) -> SimState:
    """The live state of the app serving ``request``."""
    return request.app.state.sim
