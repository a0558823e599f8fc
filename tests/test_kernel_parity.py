"""Every compiled-kernel test (marked `kernel_parity`) once more in a fresh process: on baseline
x86-64 code as well as the host's, and with 1 torch thread as well as 2, so that the suite
checks the code other CPUs run, not only this one's. The rule they share is tests/parity.py's;
here it is also checked to fail where it should."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numba
import pytest
import torch

from conftest import THREADS_ENV
from parity import (
    DEPTH_RTOL,
    SEAM_GAP,
    assert_colour_close,
    assert_depth_close,
    assert_same_capture,
)

TESTS = Path(__file__).parent

# Baseline x86-64 code for each compiled part: Numba's kernels, PyTorch's ATen kernels (the
# references) and OpenCV's dispatched paths (the photo compositor's reference).
BASELINE = {"NUMBA_CPU_NAME": "generic", "ATEN_CPU_CAPABILITY": "default",
            "OPENCV_CPU_DISABLE": "AVX512-CLX,AVX512-SKX,AVX_VNNI,AVX2,FP16,AVX,SSE4.2,SSE4.1"}


@pytest.mark.slow
# This process runs them on the host's code with 2 threads; the two runs below change one axis
# each (the code, the thread count), which keeps the suite's time down.
@pytest.mark.parametrize(("code", "threads"), [("baseline", 2), ("host", 1)])
def test_kernel_parity_on_baseline_code_and_other_thread_counts(code, threads):
    env = {**os.environ, THREADS_ENV: str(threads), **(BASELINE if code == "baseline" else {})}
    if code == "host":
        for name in BASELINE:
            env.pop(name, None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "kernel_parity",
               str(TESTS)]
    result = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=900, cwd=TESTS.parent)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = int(result.stdout.rsplit(" passed", 1)[0].rsplit(maxsplit=1)[-1].split(",")[0])
    assert passed >= 15, result.stdout[-2000:]  # every kernel/reference pair, and the check below


@pytest.mark.kernel_parity
def test_the_process_runs_the_code_its_environment_asks_for():
    """In the runs above: Numba compiles for the named CPU, ATen uses the named kernels and torch
    the named number of threads (a run that ignored them would check nothing new)."""
    assert torch.get_num_threads() == int(os.environ.get(THREADS_ENV, "2"))
    assert numba.config.CPU_NAME == os.environ.get("NUMBA_CPU_NAME")
    if os.environ.get("ATEN_CPU_CAPABILITY") == "default":
        assert torch.backends.cpu.get_cpu_capability() == "DEFAULT"


def test_the_rules_pass_seams_and_rounding_and_fail_anything_else():
    g = torch.Generator().manual_seed(0)
    reference = torch.rand(2, 3, 16, 16, generator=g)
    seam = reference.clone()
    seam[0, :, 5, 5] = reference[0, :, 5, 6]  # the texel across a seam: the neighbour's colour
    assert_colour_close(seam, reference)
    wrong = reference.clone()
    wrong[0, :, 5, 5] = reference[0, :, 3:8, 3:8].mean((1, 2)) + 3 * SEAM_GAP
    with pytest.raises(AssertionError, match="away from any neighbour"):
        assert_colour_close(wrong, reference)
    smeared = reference + 2e-4  # every pixel off: not a seam
    with pytest.raises(AssertionError, match="pixels differ"):
        assert_colour_close(smeared, reference)
    depth = torch.full((1, 1, 4, 4), 10.0)
    assert_depth_close(depth * (1 + DEPTH_RTOL / 2), depth)
    with pytest.raises(AssertionError, match="ulps"):
        assert_depth_close(depth * (1 + 2 * DEPTH_RTOL), depth)
    levels = torch.randint(0, 256, (1, 3, 64, 64), generator=g) / 255
    nudged = levels.clone()
    nudged[0, 0, 0, 0] += 1 / 255
    assert_same_capture(nudged, levels)
    nudged[0, 0, 0, 1] += 2 / 255
    with pytest.raises(AssertionError):
        assert_same_capture(nudged, levels)
