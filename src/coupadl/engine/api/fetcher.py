"""The REST API engine's downloads: the http engine's fetcher over the API runtime
(bearer token, the same redirect, size and stall checks), plus the attachments that
have no bytes on the server (a link, a note: ``coupa.api.records``), written from
their ``data:`` URL without a request."""

from __future__ import annotations

import os
from concurrent.futures import Future
from pathlib import Path

from coupadl.coupa.api.records import data_of
from coupadl.engine.http.fetcher import HttpFetcher, Transfer
from coupadl.models import Attachment


class ApiFetcher(HttpFetcher):
    def start(self, attachment: Attachment, name: str, staging: Path) -> Transfer:
        content = data_of(attachment.url)
        if content is None:
            return super().start(attachment, name, staging)
        transfer = Transfer(name, staging / name)
        with transfer.target.open("wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        done: Future[Path] = Future()
        done.set_result(transfer.target)
        transfer.future, transfer.received = done, len(content)
        return transfer
