"""Progress on a terminal for long work (issue 22 item 9): shown only when stderr is a
terminal, nothing and no cost otherwise. Base layer: the tracer and the features use it."""
from __future__ import annotations

import sys
import time

PROGRESS_FROM = 5000     # ops traced before a terminal shows progress (a small model shows none)
PROGRESS_EVERY = 1000    # ops between updates of that progress


def on_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


class TraceProgress:
    """``traced N ops`` on a terminal while a huge model is traced (tqdm, left off the screen
    when done), then one line saying the trace is done and the passes run."""

    def __init__(self):
        self.t0, self.bar = time.perf_counter(), None
        self.first, self.every = PROGRESS_FROM, PROGRESS_EVERY

    def tick(self, n: int) -> int:
        """``n`` ops traced; returns the op count of the next tick."""
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(desc="costlab: tracing", unit="op", initial=n - self.every, leave=False,
                            file=sys.stderr, disable=None, mininterval=0.5)
        self.bar.update(self.every)
        return n + self.every

    def close(self, n: int, finished: bool) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.bar is not None and finished:
            print(f"costlab: traced {n:,} ops in {time.perf_counter() - self.t0:.1f} s; now counting and "
                  "predicting their costs", file=sys.stderr, flush=True)
