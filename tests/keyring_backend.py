"""A file-backed ``keyring`` backend for tests.

It stands in for the operating system's credential store (Windows Credential
Manager, the macOS keychain, the Secret Service), which CI machines and this Linux
test machine do not have: keyring there falls back to its "fail" backend. A
subprocess selects it with ``PYTHON_KEYRING_BACKEND=keyring_backend.FileKeyring``
(``tests/`` on its PYTHONPATH); it keeps ``{service: {account: secret}}`` in the JSON
file named by ``COUPADL_TEST_KEYRING``. Test use only: the file is plain text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV_VAR = "COUPADL_TEST_KEYRING"


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]  # only ever chosen by name

    @staticmethod
    def _path() -> Path:
        return Path(os.environ[ENV_VAR])

    def _load(self) -> dict[str, dict[str, str]]:
        path = self._path()
        if not path.exists():
            return {}
        data: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data.setdefault(service, {})[username] = password
        self._path().write_text(json.dumps(data), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if username not in data.get(service, {}):
            raise PasswordDeleteError(username)
        del data[service][username]
        self._path().write_text(json.dumps(data), encoding="utf-8")


def read_store(path: Path) -> dict[str, dict[str, str]]:
    """What a test's store file holds (empty when nothing was ever stored)."""
    if not path.exists():
        return {}
    data: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return data
