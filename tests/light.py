"""Running code as the light install does (`pip install maskdepth`, no train extra): in a fresh
interpreter in which importing any module of the train extra fails."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from maskdepth.cli import TRAIN_MODULES

BLOCK = f"""
import sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {TRAIN_MODULES!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Blocked())
"""


def without_train_extra(code: str, folder) -> subprocess.CompletedProcess:
    """Run `code` (dedented) in `folder` with the train extra's modules blocked."""
    script = folder / "light.py"
    script.write_text(BLOCK + textwrap.dedent(code))
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=folder, check=False)
