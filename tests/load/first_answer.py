"""Time from `make run` on a fresh clone to the first answer (docs/benchmarks.md).

    .venv/bin/python tests/load/first_answer.py            # a new virtualenv: pip install too
    .venv/bin/python tests/load/first_answer.py --reuse-venv .venv

Copies the tree as ``git clone`` would give it into a temporary directory, runs ``make run``
there with a newcomer's environment (no DATABASE_URL / REDIS_URL: SQLite and eager tasks; no
``../shared/data``: a demo model), and prints when each step started and when ``/`` first
answered 200. Nothing is left behind.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fresh_clone import (
    free_port,
    fresh_tree,
    newcomer_env,
    start_make_run,
    wait_for_answer,
)

STEP_MARKER = "==> "
TIMEOUT_SECONDS = 1800


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reuse-venv", type=Path, help="symlink this virtualenv as .venv")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlpaygrade-clone-") as parent:
        tree = fresh_tree(
            Path(parent) / "clone",
            venv=args.reuse_venv.resolve() if args.reuse_venv else None,
        )
        port = free_port()
        run = start_make_run(tree, port=port, env=newcomer_env())
        try:
            seconds = wait_for_answer(run, f"http://127.0.0.1:{port}/", timeout=TIMEOUT_SECONDS)
        finally:
            run.stop()
        for at, line in run.lines:
            if line.startswith(STEP_MARKER):
                print(f"{at:7.1f} s  {line[len(STEP_MARKER) :]}")
        print(f"{seconds:7.1f} s  first answer (GET / → 200)")


if __name__ == "__main__":
    main()
