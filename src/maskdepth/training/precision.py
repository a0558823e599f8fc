"""Which reduced precision pays off on this machine's CPU.

bf16 autocast only speeds training up where the CPU computes bf16 natively (AVX512-BF16 or
AMX); elsewhere (e.g. AVX2-only CPUs) oneDNN emulates it, and measured here that is hundreds of
times slower than fp32 (a 2048^2 bf16 matmul ran at 0.3 GFLOP/s against 134 in fp32).
"""

from __future__ import annotations

import torch


def cpu_has_native_bf16() -> bool:
    """True when the CPU has AVX512-BF16 or AMX instructions (torch's own checks)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
