"""scripts/: every tool still imports and parses its options (`--help`), so that a change in
the package cannot leave one broken unnoticed; a tool whose own extra dependencies are missing
says which in one line. The shell scripts parse (bash -n)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

# Runs each tool's --help in one fresh interpreter (the package imported once) and prints, per
# tool, its exit code and what it printed.
DRIVER = textwrap.dedent("""
    import contextlib, io, json, runpy, sys
    results = {}
    for path in sys.argv[1:]:
        out, err, code = io.StringIO(), io.StringIO(), 0
        sys.argv = [path, "--help"]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                runpy.run_path(path, run_name="__main__")
            except SystemExit as exit:
                code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
                if not isinstance(exit.code, (int, type(None))):
                    err.write(str(exit.code))
            except Exception as error:  # a tool that no longer imports: reported, not fatal
                code = 1
                err.write(f"{type(error).__name__}: {error}")
        results[path] = {"code": code, "out": out.getvalue(), "err": err.getvalue()}
    print(json.dumps(results))
""")


def test_every_python_tool_runs_its_help():
    scripts = sorted(str(p) for p in SCRIPTS.glob("*.py"))
    result = subprocess.run([sys.executable, "-c", DRIVER, *scripts], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    for path, run in json.loads(result.stdout.splitlines()[-1]).items():
        name = Path(path).name
        if run["code"] != 0 and "pip install" in run["err"]:  # its own extra is missing here
            lines = run["err"].strip().splitlines()
            assert len(lines) == 1 and name in lines[0], run["err"]
            continue
        assert run["code"] == 0, f"{name}: {run['err']}"
        assert "usage:" in run["out"], name


@pytest.mark.parametrize("script", sorted(SCRIPTS.glob("*.sh")), ids=lambda p: p.name)
def test_a_shell_tool_parses(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
