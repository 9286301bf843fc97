"""A tqdm progress bar for the import commands, drawn only when the output is a terminal."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

STAGE_DESCRIPTIONS = {"validate": "validating", "insert": "importing"}


@contextmanager
def progress_bars(stream: TextIO):
    """Yield a ``progress(stage, advanced, total)`` callback; one bar per stage, in turn."""
    enabled = hasattr(stream, "isatty") and stream.isatty()
    bars: dict[str, tqdm] = {}

    def progress(stage: str, advanced: int, total: int | None) -> None:
        if not enabled:
            return
        bar = bars.get(stage)
        if bar is None:
            for finished in bars.values():
                finished.close()
            bar = tqdm(
                total=total,
                desc=STAGE_DESCRIPTIONS.get(stage, stage),
                unit="rows",
                file=stream,
                leave=False,
            )
            bars[stage] = bar
        bar.update(advanced)

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()
