"""The progress journal of a long writer (synth, build, predict): a hidden JSON-lines file in the
output folder. Its first line holds the job's settings; each later line notes one finished unit
(a batch of samples, a batch of predictions), written only after every file of that unit is in
place. A job killed at any moment (kill -9 included) is resumed from it: the units it names are
skipped, the rest are written again, and because each unit's files are written atomically and
deterministically the result equals an uninterrupted run.

    journal = Journal.start(folder, settings)          # or Journal.resume(folder, settings)
    for key, unit in enumerate(units):
        if key in journal.done: continue
        ... write the unit's files ...
        journal.record(key, rows)
    journal.finish()                                   # the job is complete: the file goes
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from maskdepth.errors import UserError
from maskdepth.io.atomic import remove_stale_temps_under
from maskdepth.io.faults import kill_point

JOURNAL_NAME = ".maskdepth-progress.jsonl"


def read_settings(folder: str | os.PathLike) -> dict | None:
    """The settings of the interrupted job in `folder`, or None when it holds no journal."""
    journal = Path(folder) / JOURNAL_NAME
    if not journal.is_file():
        return None
    with journal.open(encoding="utf-8") as file:
        return _settings(file.readline())


def _settings(header: str) -> dict | None:
    """The settings in a journal's first line (None when it is not one)."""
    try:
        return json.loads(header).get("settings")
    except (json.JSONDecodeError, AttributeError):
        return None


class Journal:
    """Finished units of a job (`done`: key -> payload) and the open journal to note new ones.
    Keys are JSON strings or integers; payloads anything JSON can hold."""

    def __init__(self, folder: Path | None = None, done: dict[Any, Any] | None = None,
                 handle=None):
        self.folder, self.done, self._handle = folder, done if done is not None else {}, handle

    @classmethod
    def untracked(cls) -> Journal:
        """A journal kept in memory only, for a one-off write that needs no resuming."""
        return cls()

    @classmethod
    def start(cls, folder: str | os.PathLike, settings: dict) -> Journal:
        """A new journal for a job with `settings` (replacing any old one)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / JOURNAL_NAME).open("w", encoding="utf-8")
        handle.write(json.dumps({"settings": settings}) + "\n")
        handle.flush()
        kill_point(0)  # tests of resuming only (io/faults.py)
        return cls(folder, {}, handle)

    @classmethod
    def resume(cls, folder: str | os.PathLike, settings: dict, command: str) -> Journal:
        """The journal of an interrupted job in `folder`, whose half-written temporary files
        are removed; refused (UserError naming `command`'s fix) when there is none or it was
        started with other settings. Call it holding the folder's lock."""
        folder = Path(folder)
        journal = folder / JOURNAL_NAME
        if not journal.is_file():
            raise UserError(f"{folder} holds no interrupted {command} to resume (a finished one "
                            f"leaves no journal); choose a new --out")
        lines = journal.read_text(encoding="utf-8").splitlines()
        stored = _settings(lines[0]) if lines else None
        if stored != settings:
            changed = sorted(k for k in set(settings) | set(stored or {})
                             if (stored or {}).get(k) != settings.get(k))
            raise UserError(f"{folder} holds an interrupted {command} with other settings "
                            f"(differing: {', '.join(changed)}); run it again with the same "
                            f"inputs and options to finish it, or choose a new --out")
        remove_stale_temps_under(folder)  # half-written files of the unit that was cut short
        done: dict[Any, Any] = {}
        for line in lines[1:]:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # the line being written when the job stopped
                break
            done[entry["key"]] = entry.get("value")
        kill_point(len(done))  # tests of resuming only (io/faults.py)
        return cls(folder, done, journal.open("a", encoding="utf-8"))

    def record(self, key, value=None) -> None:
        """Note that unit `key` is complete (all its files written)."""
        if self._handle is not None:
            self._handle.write(json.dumps({"key": key, "value": value}) + "\n")
            self._handle.flush()
        self.done[key] = value
        if self._handle is not None:
            kill_point(len(self.done))  # tests of resuming only (io/faults.py)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def finish(self) -> None:
        """The job is complete: close and remove the journal."""
        self.close()
        if self.folder is not None:
            (self.folder / JOURNAL_NAME).unlink(missing_ok=True)

    def __enter__(self):  # -> Self (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc) -> None:
        self.close()
