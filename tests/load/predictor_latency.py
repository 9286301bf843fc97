"""Side-by-side predictor speed: the same artifact, timed from each checkout in turn.

    .venv/bin/python tests/load/predictor_latency.py --train ARTIFACT.zip   # once, on the real data
    (cd CHECKOUT && /path/to/.venv/bin/python /path/to/predictor_latency.py ARTIFACT.zip)

Run from a checkout's root: it imports that checkout's code (the layout before and after the
core split both work), loads the artifact, and prints one JSON line with the load time, the
first call, the median and p99 of ``predict_one`` and the rows/s of ``predict_many``.
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.getcwd())

WARMUP_CALLS = 200
TIMED_CALLS = 3_000
BATCH_ROWS = 100_000
BATCH_REPEATS = 3
P99 = 0.99
MILLISECONDS = 1000
DEFAULT_DATA = os.environ.get("SALARIES_CSV", "../shared/data/salaries.csv")


def _code():
    try:
        from mlmodel.core.artifacts import load_predictor, sha256_hex
        from mlmodel.core.profile import EXAMPLE_PROFILE, parse_profile
        from mlmodel.core.train.data import load_csv
    except ImportError:  # a checkout from before the core split
        from mlmodel.artifacts import load_predictor, sha256_hex
        from mlmodel.profile import EXAMPLE_PROFILE, parse_profile
        from mlmodel.training import load_csv
    return load_predictor, sha256_hex, parse_profile(EXAMPLE_PROFILE.as_dict()), load_csv


def train(path: str, data: str) -> None:
    from mlmodel.core.artifacts import artifact_bytes
    from mlmodel.core.train.data import load_csv
    from mlmodel.core.train.production import train_production_model

    blob = artifact_bytes(train_production_model(load_csv(data), evaluate=False))
    with open(path, "wb") as handle:
        handle.write(blob)
    print(f"wrote {len(blob):,} bytes to {path}")


def measure(path: str, data: str) -> dict:
    import pandas as pd

    load_predictor, sha256_hex, profile, load_csv = _code()
    with open(path, "rb") as handle:
        blob = handle.read()
    started = time.perf_counter()
    predictor = load_predictor(blob, sha256_hex(blob))
    load_ms = (time.perf_counter() - started) * MILLISECONDS
    started = time.perf_counter()
    first = predictor.predict_one(profile)
    first_ms = (time.perf_counter() - started) * MILLISECONDS
    for _ in range(WARMUP_CALLS):
        predictor.predict_one(profile)
    times = []
    for _ in range(TIMED_CALLS):
        started = time.perf_counter()
        predictor.predict_one(profile)
        times.append(time.perf_counter() - started)
    times.sort()
    frame = load_csv(data)
    rows = pd.concat([frame] * (BATCH_ROWS // len(frame) + 1), ignore_index=True).head(BATCH_ROWS)
    rates = []
    for _ in range(BATCH_REPEATS):
        started = time.perf_counter()
        predictor.predict_many(rows)
        rates.append(len(rows) / (time.perf_counter() - started))
    return {
        "load_ms": round(load_ms, 1),
        "first_ms": round(first_ms, 3),
        "median_ms": round(statistics.median(times) * MILLISECONDS, 4),
        "p99_ms": round(times[int(P99 * len(times))] * MILLISECONDS, 4),
        "batch_rows_per_s": round(max(rates)),
        "estimate_usd": first.estimate_usd,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact")
    parser.add_argument("--train", action="store_true", help="train and write the artifact")
    parser.add_argument("--data", default=DEFAULT_DATA)
    args = parser.parse_args()
    if args.train:
        train(args.artifact, args.data)
    else:
        print(json.dumps(measure(args.artifact, os.path.abspath(args.data))))


if __name__ == "__main__":
    main()
