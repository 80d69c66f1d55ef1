"""Interleaved A/B timing: our app against its bare-Flask twin, in one run.

Absolute times on a shared machine move by half from one minute to the next,
so a figure is only ever a ratio of two measurements taken side by side:

- a round runs a batch of the bare twin and a batch of ours, interleaved in
  short blocks (a few requests of one side, then of the other) so that both
  sides meet the same load from other processes; the side that goes first
  alternates from round to round;
- each side's figure for a round is the median of its per-request times in
  that round (``time.perf_counter_ns``), and the round's ratio is ours over
  bare;
- the garbage collector is off during a round, after a full collection, so
  neither side pays for the other's garbage (nor, then, for its own cycles:
  the figures leave the collector out);
- an untimed warm-up of each side runs first (imports, caches, pooled
  connections).

The result is the median of the per-round ratios, with their spread (min-max
and interquartile range) to tell a real difference from noise.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import gc
import statistics

#: One timed iteration: does the work (one request, one login) and returns
#: the nanoseconds of the part that counts.
Step = cabc.Callable[[], int]


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The figures of one scenario: per-round medians of each side, and
    their ratios."""

    name: str
    #: Requests (or logins) per side in each round.
    batch: int
    #: Per round: the median per-request time of ours, in nanoseconds.
    ours_ns: tuple[float, ...]
    #: Per round: the median per-request time of the bare twin, in nanoseconds.
    bare_ns: tuple[float, ...]

    @property
    def rounds(self) -> int:
        return len(self.ratios)

    @property
    def ratios(self) -> tuple[float, ...]:
        """Per round: ours over bare."""
        return tuple(o / b for o, b in zip(self.ours_ns, self.bare_ns, strict=True))

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios: the figure to compare with a
        target."""
        return statistics.median(self.ratios)

    @property
    def spread(self) -> tuple[float, float]:
        """The lowest and highest per-round ratio."""
        return min(self.ratios), max(self.ratios)

    @property
    def iqr(self) -> tuple[float, float]:
        """The first and third quartiles of the per-round ratios."""
        q1, _, q3 = statistics.quantiles(self.ratios, n=4, method="inclusive")
        return q1, q3

    @property
    def ours_us(self) -> float:
        """Median over rounds of ours' per-request time, in microseconds."""
        return statistics.median(self.ours_ns) / 1000

    @property
    def bare_us(self) -> float:
        """Median over rounds of the bare twin's per-request time, in
        microseconds."""
        return statistics.median(self.bare_ns) / 1000


def run_round(first: Step, second: Step, n: int, block: int) -> tuple[float, float]:
    """Run ``first`` and ``second`` ``n`` times each, alternating every
    ``block`` iterations, with the garbage collector off (after a full
    collection); return the median of the times each reported."""
    first_ns: list[int] = []
    second_ns: list[int] = []
    gc.collect()
    gc.disable()
    try:
        for done in range(0, n, block):
            size = min(block, n - done)
            first_ns.extend(first() for _ in range(size))
            second_ns.extend(second() for _ in range(size))
    finally:
        gc.enable()
    return statistics.median(first_ns), statistics.median(second_ns)


def compare(
    name: str,
    *,
    ours: Step,
    bare: Step,
    rounds: int,
    batch: int,
    block: int = 5,
) -> Comparison:
    """Time ``ours`` against ``bare``, interleaved.

    :param name: what is measured, for the report.
    :param ours: one iteration of our app.
    :param bare: the same iteration of the bare-Flask twin.
    :param rounds: how many rounds; each gives one ratio.
    :param batch: iterations per side per round (and of the warm-up).
    :param block: iterations of one side before switching to the other.
    """
    run_round(bare, ours, batch, block)
    ours_ns: list[float] = []
    bare_ns: list[float] = []
    for i in range(rounds):
        if i % 2:
            ours_median, bare_median = run_round(ours, bare, batch, block)
        else:
            bare_median, ours_median = run_round(bare, ours, batch, block)
        ours_ns.append(ours_median)
        bare_ns.append(bare_median)
    return Comparison(name, batch, tuple(ours_ns), tuple(bare_ns))
