"""The dry run with the REST API engine: the token and scopes checked as a run checks
them, then each PO listed from the API, each file's size as its attachment record
names it (no request for the file; a link or note item's size is its content's)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from coupadl.coupa.api.records import data_of
from coupadl.engine.api.prepare import check_access
from coupadl.engine.api.records import ApiRecords
from coupadl.engine.api.runtime import acquire, release
from coupadl.models import POTask
from coupadl.runs.dryrun_listing import PlannedPO, plan_po
from coupadl.settings import Settings


def list_over_api(
    tasks: Sequence[POTask], settings: Settings, on_po: Callable[[PlannedPO], None]
) -> None:
    runtime = acquire(settings)
    try:
        check_access(runtime, settings)
        for task in tasks:
            records = ApiRecords(runtime)

            def sizes(urls: list[str], records: ApiRecords = records) -> list[int | None]:
                return [_size(records, url) for url in urls]

            on_po(plan_po(records, task, settings, sizes))
    finally:
        release(runtime)


def _size(records: ApiRecords, url: str) -> int | None:
    content = data_of(url)
    return len(content) if content is not None else records.sizes.get(url)
