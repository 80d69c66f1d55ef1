"""The herd benchmark: the figures ``tests/test_herd.py`` checks, printed.

The example app runs under gunicorn (``-w 4 --threads 4``), the sandbox in a
process of its own with a token endpoint that answers after 200 ms; one
browser, logged in through the real flow, sends 5 bursts of 32 concurrent
requests to ``/api/me`` with a token that is always due. Per storage it
prints the refresh grants of each burst, the requests that failed, whether
the browser is still logged in after the last burst, and the median and 99th
percentile of the requests' latency. It asserts nothing.

The cookie storage with the default coordinator always runs; Redis and
PostgreSQL run when ``REDIS_URL`` / ``DATABASE_URL`` are set and their back
ends can be imported, each on one gunicorn master and on two (as two hosts).

Run with ``make bench`` (after ``benchmarks/run.py``) or
``python benchmarks/herd.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

# The harness lives with the tests that use it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from herd_support.harness import (
    SERVER_SIDE,
    Burst,
    Unavailable,
    herd,
    latencies,
    server_side_url,
)

BURSTS = 5
SIZE = 32
WORKERS = 4
THREADS = 4


def run(label: str, storage_url: str | None, masters: int) -> None:
    """Run the bursts for one storage and print one line of figures."""
    started = time.monotonic()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="herd-bench-") as workdir,
            herd(
                Path(workdir),
                storage_url=storage_url,
                masters=masters,
                workers=WORKERS,
                threads=THREADS,
                # A server-side storage hands later requests the token just
                # refreshed: it must not be due again within the burst.
                due_in=None if storage_url is None else 3,
            ) as h,
        ):
            bursts = [h.burst(SIZE) for _ in range(BURSTS)]
    except Exception as exc:  # a benchmark reports, it does not stop
        print(f"{label:<28} could not run: {type(exc).__name__}: {exc}")
        return
    print_line(label, bursts, time.monotonic() - started)


def print_line(label: str, bursts: list[Burst], seconds: float) -> None:
    grants = " ".join(str(burst.grants) for burst in bursts)
    failed = sum(burst.failures for burst in bursts)
    workers = " ".join(str(burst.workers) for burst in bursts)
    median, p99 = latencies(bursts)
    logged_in = "yes" if bursts[-1].logged_in else "NO"
    print(
        f"{label:<28} {grants:<12} {failed:>3}/{BURSTS * SIZE:<5}"
        f" {logged_in:<10} {median * 1000:7.0f} {p99 * 1000:7.0f}"
        f"   {workers:<10} {seconds:5.1f} s"
    )


def main() -> None:
    print(
        f"herd: example app under gunicorn -w {WORKERS} --threads {THREADS},"
        f" sandbox token endpoint 200 ms, {BURSTS} bursts of {SIZE} concurrent"
        " requests with a due token"
    )
    print(
        f"{'storage':<28} {'grants':<12} {'failed':<9} {'logged in':<10}"
        f" {'p50 ms':>7} {'p99 ms':>7}   {'workers':<10} {'run':>7}"
    )
    run("cookie, SQLite coordinator", None, 1)
    for name, variable, module in SERVER_SIDE:
        try:
            url = server_side_url(variable, module)
        except Unavailable as exc:
            print(f"{name:<28} skipped: {exc}")
            continue
        run(name, url, 1)
        run(f"{name}, two masters", url, 2)


if __name__ == "__main__":
    main()
