"""The running simulator's live state: data set, knobs, sessions, counters, file digests.

``create_app`` keeps one :class:`SimState` as ``app.state.sim``; the route handlers
reach it with :func:`state_of`, ``SimulatorServer`` uses it directly and
``/__sim__/*`` exposes it over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from coupadl.simulator.auth import Credentials, Sessions
from coupadl.simulator.data.manifest import build_manifest
from coupadl.simulator.data.model import Dataset
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


def state_of(request: Request) -> SimState:
    """The live state of the app serving ``request``."""
    return request.app.state.sim
