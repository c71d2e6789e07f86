"""The engines benchmark's arithmetic, apart from anything it measures (so it can be
tested): the achieved request rate from the simulator's per-second counts, the time
of the first and the last block of POs, and what a figure means against its target."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LOWEST_OVER = 5  # seconds: the lowest rate over any such stretch is "sustained"


def merge_seconds(into: dict[int, dict[str, int]], rate: Mapping[str, Any]) -> None:
    """Add one ``/__sim__/stats`` "rate" block's per-second counts to ``into`` (by unix
    second; a later snapshot of a second replaces an earlier one, which may have been
    taken while that second was still counting)."""
    for slot in rate["per_second"]:
        into[int(slot["second"])] = {
            "requests": int(slot["requests"]),
            "limited": int(slot["limited"]),
            "errors_429": int(slot["errors_429"]),
        }


@dataclass
class RateFigures:
    seconds: int  # whole seconds between the first PO's start and the last PO's end
    arrived: float  # requests per second that reached the tenant, 429s included
    served: float  # requests per second answered without a 429
    lowest: float  # the lowest served rate over any LOWEST_OVER seconds in a row
    errors_429: int  # in those seconds


def achieved_rate(
    per_second: Mapping[int, Mapping[str, int]], first: float, last: float
) -> RateFigures:
    """The rate over the whole seconds inside ``[first, last]`` (``time.time()``); a
    second that saw no request counts as 0 (the window has no gaps then)."""
    seconds = list(range(int(first) + 1, int(last)))  # partial seconds at the ends left out
    if not seconds:
        return RateFigures(0, 0.0, 0.0, 0.0, 0)
    empty = {"requests": 0, "limited": 0, "errors_429": 0}
    slots = [per_second.get(s, empty) for s in seconds]
    served = [s["requests"] - s["errors_429"] for s in slots]
    span = min(LOWEST_OVER, len(served))
    lowest = min(sum(served[i : i + span]) / span for i in range(len(served) - span + 1))
    return RateFigures(
        seconds=len(seconds),
        arrived=sum(s["requests"] for s in slots) / len(seconds),
        served=sum(served) / len(seconds),
        lowest=lowest,
        errors_429=sum(s["errors_429"] for s in slots),
    )


def block_seconds(first_start: float, finished: Sequence[float], block: int) -> tuple[float, float]:
    """How long the first ``block`` POs took (from the first PO's start to the
    ``block``-th end) and the last ``block`` (from the end before them to the last end);
    ``finished`` are the POs' end times in any order."""
    ends = sorted(finished)
    if block < 1 or len(ends) < 2 * block:
        raise ValueError(f"need at least {2 * block} POs for two blocks of {block}")
    return ends[block - 1] - first_start, ends[-1] - ends[-block - 1]


def verdict(value: float, target: float, *, at_least: bool) -> str:
    """ "met" or "missed": ``value`` against ``target`` (``at_least``: higher is better)."""
    ok = value >= target if at_least else value <= target
    return "met" if ok else "missed"


def ratios(top: Iterable[float], bottom: Iterable[float]) -> list[float]:
    """Round by round: ``top`` over ``bottom`` (the same round's two figures)."""
    return [a / b for a, b in zip(top, bottom, strict=True)]
