"""Progress bars on stderr (tqdm): one per long command, silent when turned off."""

from __future__ import annotations

import contextlib
import sys

from tqdm.auto import tqdm


class _Silent:
    """The bar's interface, doing nothing (progress turned off)."""

    def __call__(self, stage, units=1):
        pass

    def set_total(self, total):
        pass


class _Stages:
    """A bar over the units of work of a command, named by the stage it is in."""

    def __init__(self, bar):
        self.bar = bar

    def set_total(self, total):
        self.bar.total = total
        self.bar.refresh()

    def __call__(self, stage, units=1):
        self.bar.set_description_str(stage, refresh=False)
        self.bar.update(units)


@contextlib.contextmanager
def stage_bar(desc, enabled=True, file=None):
    """A progress callback ``progress(stage, units=1)`` for a command made of stages; ``progress.set_total(n)``
    sets the number of units once known. With ``enabled=False`` it does nothing."""
    if not enabled:
        yield _Silent()
        return
    # each unit is a whole simulation or more, so every update is drawn (mininterval 0)
    with tqdm(desc=desc, total=None, file=file or sys.stderr, leave=False, unit="step", mininterval=0,
              dynamic_ncols=True) as bar:
        yield _Stages(bar)


def training_bar(total, start=0, enabled=True, file=None):
    """The bar of a training run: steps done of ``total``, with the loss, rate and last validation shown."""
    return tqdm(total=total, initial=start, desc="train", unit="step", file=file or sys.stderr,
                disable=not enabled, dynamic_ncols=True)
