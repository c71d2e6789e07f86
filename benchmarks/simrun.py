"""What every simulator benchmark shares: the simulator in its own process, a signed-in
profile, the input spreadsheet, and what the machine was and what else ran on it.

Run as a script it does the two steps that must not weigh on a measured process's
memory (a 10,000-PO manifest is megabytes of JSON, tens of MB as Python objects):

    python benchmarks/simrun.py fetch BASE_URL MANIFEST.json INPUT.csv
    python benchmarks/simrun.py check OUT MANIFEST.json      # prints the mismatch count
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Simulator:
    """A running ``coupadl sim`` process and its control API."""

    process: subprocess.Popen[bytes]
    base_url: str
    started_in: float  # seconds from launch to a healthy answer

    @property
    def pid(self) -> int:
        return self.process.pid

    def get(self, path: str, timeout: float = 120) -> Any:
        with urllib.request.urlopen(f"{self.base_url}/__sim__/{path}", timeout=timeout) as answer:
            return json.load(answer)

    def manifest(self) -> dict[str, Any]:
        return dict(self.get("manifest"))

    def stats(self) -> dict[str, Any]:
        return dict(self.get("stats", timeout=10))

    def reset_stats(self) -> None:
        request = urllib.request.Request(f"{self.base_url}/__sim__/stats/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()


@contextmanager
def simulator(pos: int, seed: int, flags: Sequence[str] = ()) -> Iterator[Simulator]:
    """``coupadl sim --pos pos --seed seed *flags`` on a free loopback port, until the
    block ends."""
    port = free_port()
    command = [sys.executable, "-m", "coupadl", "sim", "--port", str(port), "--pos", str(pos),
               "--seed", str(seed), *flags]  # fmt: skip
    launched = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sim = Simulator(process, f"http://127.0.0.1:{port}", 0.0)
    try:
        deadline = launched + 120
        while True:
            try:
                sim.get("health", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"the simulator did not start: {' '.join(command)}") from None
                time.sleep(0.2)
        sim.started_in = time.monotonic() - launched
        yield sim
    finally:
        process.terminate()
        process.wait(timeout=30)


def signed_in_base(sim: Simulator, credentials: dict[str, str], work: Path) -> dict[str, Any]:
    """Settings every run shares, on a base profile signed in once (real Chromium)."""
    from coupadl.engine.browser.login import sign_in
    from coupadl.settings import load_settings

    base = {
        "base_url": sim.base_url,
        "profile_dir": work / "profile",
        "username": credentials["email"],
        "password": credentials["password"],
        "results_flush_seconds": 1.0,
    }
    sign_in(load_settings(base), timeout=60)
    return base


def write_input(path: Path, pos: Sequence[str]) -> Path:
    path.write_text("PO_NUMBER\n" + "\n".join(pos) + "\n", encoding="utf-8")
    return path


def fetch_to_files(base_url: str, manifest_path: Path, input_path: Path) -> dict[str, Any]:
    """In a child process: the manifest to a file, its POs to the input. Gives the
    credentials and the data set's size (``files``, ``bytes``)."""
    out = subprocess.run(
        [sys.executable, str(HERE), "fetch", base_url, str(manifest_path), str(input_path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


def check_in_child(out: Path, manifest_path: Path) -> int:
    """In a child process: how many mismatches ``out`` has against the manifest file."""
    answer = subprocess.run(
        [sys.executable, str(HERE), "check", str(out), str(manifest_path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return int(answer.stdout.split()[-1])


def chromium_version() -> str:
    try:
        return subprocess.run(
            ["chromium", "--version"], capture_output=True, text=True, timeout=20
        ).stdout.strip()
    except OSError:
        return "unknown"


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def _label(process: psutil.Process) -> str:
    """A process's name; for Python, the script or module it runs."""
    name = process.name()
    if name.startswith("python"):
        args = process.cmdline()[1:]
        if "-c" in args:  # e.g. a multiprocessing child: its code, not a name
            return "python -c (spawn)" if "spawn_main" in " ".join(args) else "python -c"
        named = [a for a in args if not a.startswith("-")]
        return f"python {Path(named[0]).name}" if named else name
    return name


def load_now(sample: float = 1.0) -> str:
    """The load average and the other processes that used the most CPU over ``sample``
    seconds (this process's own tree left out): what else ran while measuring."""
    mine = {psutil.Process().pid, *(c.pid for c in psutil.Process().children(recursive=True))}
    others = [p for p in psutil.process_iter() if p.pid not in mine]
    for process in others:
        with suppress(psutil.Error):  # it has ended: nothing to count
            process.cpu_percent()
    time.sleep(sample)
    use: dict[str, float] = {}
    for process in others:
        with suppress(psutil.Error):
            label = _label(process)
            use[label] = use.get(label, 0.0) + process.cpu_percent()
    top = sorted(use.items(), key=lambda item: -item[1])[:3]
    busy = ", ".join(f"{name} {pct:.0f}%" for name, pct in top if pct >= 5)
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (5 min {five:.2f}); {busy or 'nothing else busy'}"


def _main(argv: list[str]) -> None:
    if argv[0] == "fetch":
        base_url, manifest_path, input_path = argv[1], Path(argv[2]), Path(argv[3])
        with urllib.request.urlopen(f"{base_url}/__sim__/manifest", timeout=600) as answer:
            data = answer.read()
        manifest_path.write_bytes(data)
        manifest = json.loads(data)
        write_input(input_path, list(manifest["pos"]))
        files = [f for po in manifest["pos"].values() for f in po["files"]]
        size = sum(f["size"] for f in files)
        print(
            json.dumps({"credentials": manifest["credentials"], "files": len(files), "bytes": size})
        )
    elif argv[0] == "check":
        from coupadl.simulator.check import compare_with_manifest

        manifest = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
        problems = compare_with_manifest(Path(argv[1]), manifest)
        for problem in problems[:20]:
            print(problem, file=sys.stderr)
        print(len(problems))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    _main(sys.argv[1:])
