"""Bar charts drawn as inline SVG on the server (no JavaScript), each with its data table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

PROBABILITY_EDGES = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0)
WIDTH, BAR_HEIGHT, GAP, LABEL_WIDTH = 560, 22, 6, 190


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    y: int
    width: int


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    height: int
    label_width: int = LABEL_WIDTH
    width: int = WIDTH

    @property
    def total(self) -> int:
        return sum(b.count for b in self.bars)

    @property
    def description(self) -> str:
        return "; ".join(f"{b.label}: {b.count}" for b in self.bars) or "no data"


def bar_chart(title: str, items: Sequence[tuple[str, int]]) -> Chart:
    top = max((n for _, n in items), default=0)
    room = WIDTH - LABEL_WIDTH - 60
    bars = [
        Bar(label, n, i * (BAR_HEIGHT + GAP), round(n / top * room) if top else 0)
        for i, (label, n) in enumerate(items)
    ]
    return Chart(title, bars, max(1, len(bars)) * (BAR_HEIGHT + GAP))


def probability_bins(values: Sequence[float]) -> list[tuple[str, int]]:
    """Counts over PROBABILITY_EDGES; the last bin includes 1.0."""
    edges = PROBABILITY_EDGES
    bins = [0] * (len(edges) - 1)
    for v in values:
        for i in range(len(bins)):
            if v < edges[i + 1] or i == len(bins) - 1:
                bins[i] += 1
                break
    last = len(bins) - 1
    return [
        (f"{edges[i]:g} – {edges[i + 1]:g}" + ("" if i < last else " (incl.)"), n)
        for i, n in enumerate(bins)
    ]


def reason_items(reasons: Sequence[str]) -> list[tuple[str, int]]:
    return sorted(Counter(reasons).items(), key=lambda kv: (-kv[1], kv[0]))
