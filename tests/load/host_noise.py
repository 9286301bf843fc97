"""The same CPU work timed again and again: the floor this host puts under any p99/p50.

A request at 1 client is a chain of CPU work and waits; when even identical pure-Python work,
with no I/O and no other process of ours, varies in CPU time from one repetition to the next,
that spread is the host's (shared cores, frequency, neighbours), not the request's. Run it on an
otherwise idle machine, beside the 1-client load test (docs/benchmarks.md):

    .venv/bin/python tests/load/host_noise.py [--work-ms 5] [--repeats 3000]

Prints wall and CPU time p50 / p90 / p99 and p99/p50 of one repetition; ``--summary`` prints
one line in the wrk scripts' format instead (``tests/load/load_test.sh`` with ``HOST_NOISE=1``).
"""

import argparse
import statistics
import time


def fixed_work(iterations: int) -> int:
    """Dictionary writes and integer arithmetic, the kind of work a Django request does."""
    total = 0
    table: dict[int, int] = {}
    for i in range(iterations):
        table[i % 97] = total
        total += i * i % 7
    return total


def iterations_for(work_ms: float) -> int:
    """Iterations that take about ``work_ms`` here (best of five timings of a probe)."""
    probe = 10_000
    best = min(_timed(probe)[0] for _ in range(5))
    return max(1, round(probe * work_ms / best))


def _timed(iterations: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fixed_work(iterations)
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[89], cuts[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-ms", type=float, default=5.0, help="size of one repetition")
    parser.add_argument("--repeats", type=int, default=3000)
    parser.add_argument("--summary", action="store_true", help="one wrk-style line (wall times)")
    args = parser.parse_args()
    iterations = iterations_for(args.work_ms)
    for _ in range(20):  # warm-up
        _timed(iterations)
    timings = [_timed(iterations) for _ in range(args.repeats)]
    if args.summary:
        walls = [timing[0] for timing in timings]
        p50, p90, p99 = _percentiles(walls)
        print(f"latency_ms p50={p50:.2f} p90={p90:.2f} p99={p99:.2f} max={max(walls):.2f}")
        return
    print(f"{args.repeats} repetitions of {iterations} iterations")
    for name, column in (("wall", 0), ("cpu", 1)):
        p50, p90, p99 = _percentiles([timing[column] for timing in timings])
        print(f"{name} ms p50 {p50:.2f} p90 {p90:.2f} p99 {p99:.2f} p99/p50 {p99 / p50:.2f}")


if __name__ == "__main__":
    main()
