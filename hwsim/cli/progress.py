"""A one-line progress bar on a stream (the library reports progress through a
callback; only the CLI draws it)."""
from __future__ import annotations

import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """Redraws `phase [#####.....] step/total loss` when the percentage changes."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.interactive = stream.isatty()
        self.last: tuple[str, int] | None = None
        self.started = time.perf_counter()

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        if self.last is not None and self.interactive:
            self.stream.write("\n")
            self.stream.flush()

    def update(self, phase: str, step: int, total: int, loss: float) -> None:
        percent = 100 * step // max(1, total)
        # Interactive: redraw at every percent; in a log: a line every 25 percent.
        key = (phase, percent if self.interactive else percent // 25)
        if key == self.last:
            return
        if self.last is not None and self.last[0] != phase and self.interactive:
            self.stream.write("\n")
        self.last = key
        filled = WIDTH * step // max(1, total)
        line = (f"{phase:<12} [{'#' * filled}{'.' * (WIDTH - filled)}] {step}/{total} "
                f"loss {loss:.4f} {time.perf_counter() - self.started:.1f}s")
        self.stream.write(("\r" + line) if self.interactive else line + "\n")
        self.stream.flush()
