"""A deterministic kill -9 for the tests of resuming: with `MASKDEPTH_KILL_AFTER=N` in its
environment, a long writer (synth, build, predict) or a training run SIGKILLs itself as soon as
N units are finished: journal entries (io/journal.py; 0 = as soon as the journal exists) or
optimizer steps (training). Tests then resume it from exactly that point, where polling files
from outside would race the clock. Unset, nothing happens.

    MASKDEPTH_KILL_AFTER=2 maskdepth synth --out data --n 30    # dies after its second batch
"""

from __future__ import annotations

import os
import signal

from maskdepth.errors import UserError

KILL_AFTER = "MASKDEPTH_KILL_AFTER"


def kill_after() -> int | None:
    """The number of finished units the environment asks this process to die after (None: never)."""
    value = os.environ.get(KILL_AFTER)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise UserError(f"{KILL_AFTER}={value!r} is not a whole number of units; unset it") from None


def kill_point(finished: int) -> None:
    """SIGKILL this process when `finished` units are done and the environment asks for it."""
    limit = kill_after()
    if limit is not None and finished >= limit:
        os.kill(os.getpid(), signal.SIGKILL)
