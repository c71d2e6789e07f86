#!/usr/bin/env bash
# Soak: the tests marked `soak`, which normal runs and CI leave out (pyproject's
# addopts says -m "not soak"): 50 more seeded kill points of the crash-consistency test
# and the long fault scenarios (tests/e2e/test_soak_faults.py). Set up as the README
# says, then prints its figures and writes them, with the JUnit XML and the pytest
# log, to $SOAK_OUT (default: $TMPDIR/coupadl-soak). Extra arguments go to pytest,
# e.g. `scripts/soak.sh -k kill-17` to run one kill point again.
# Exit code: pytest's.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${SOAK_OUT:-${TMPDIR:-/tmp}/coupadl-soak}"
mkdir -p "$out"

./scripts/setup.sh
export COUPADL_REQUIRE_BROWSER=1  # a missing browser fails instead of skipping

started=$(date +%s)
set +e
# xunit1: the JUnit flavour that keeps the figures the tests record (record_property).
.venv/bin/python -m pytest -m soak -rs --durations=30 -p no:cacheprovider \
  -o junit_family=xunit1 --junitxml="$out/junit.xml" "$@" 2>&1 | tee "$out/pytest.log"
status=${PIPESTATUS[0]}
set -e
seconds=$(( $(date +%s) - started ))

.venv/bin/python - "$out/junit.xml" "$seconds" "$status" <<'PY' | tee "$out/figures.txt"
"""The soak figures, from the JUnit XML: kill points, failures, time, POs per minute."""
import os
import sys
import time
import xml.etree.ElementTree as ET

junit, seconds, status = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cases = list(ET.parse(junit).getroot().iter("testcase"))


def outcome(case):
    for child in ("failure", "error", "skipped"):
        if case.find(child) is not None:
            return {"failure": "FAILED", "error": "ERROR", "skipped": "SKIPPED"}[child]
    return "passed"


def props(case):
    return {p.get("name"): p.get("value") for p in case.iter("property")}


kills = [c for c in cases if c.get("name").startswith("test_kill_minus_nine")]
others = [c for c in cases if c not in kills]
bad = [c for c in cases if outcome(c) != "passed"]
print(f"soak on {time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} cores")
print(f"tests: {len(cases)}, not passed: {len(bad)}, wall time {seconds // 60}:{seconds % 60:02d}"
      f" (setup included), pytest exit {status}")
kill_time = sum(float(c.get("time", 0)) for c in kills)
print(f"kill points run: {len(kills)}, failed: {sum(outcome(c) != 'passed' for c in kills)}, "
      f"{kill_time:.0f} s in all, {kill_time / max(len(kills), 1):.1f} s each")
finished = [int(props(c)["finished_before_kill"]) for c in kills if "finished_before_kill" in props(c)]
if finished:
    spread = {n: finished.count(n) for n in sorted(set(finished))}
    print(f"  POs finished before the kill (of 6): {spread}")
for case in others:
    p = props(case)
    figures = ", ".join(f"{k} {v}" for k, v in p.items()) or "no figures"
    print(f"{case.get('name')}: {outcome(case)} in {float(case.get('time', 0)):.0f} s; {figures}")
for case in bad:
    print(f"NOT PASSED: {case.get('classname')}::{case.get('name')} ({outcome(case)})")
PY
echo "soak: figures in $out/figures.txt, log in $out/pytest.log"
exit "$status"
