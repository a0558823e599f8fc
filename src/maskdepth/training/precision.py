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


def trains_on_gpu(accelerator: str = "auto") -> bool:
    """Whether a run with this accelerator setting trains on a CUDA GPU."""
    return torch.cuda.is_available() and accelerator in ("auto", "gpu", "cuda")


def resolve_precision(precision: str, accelerator: str = "auto") -> str:
    """The Lightning precision to train with. "auto": bf16-mixed on GPUs that support it
    (16-mixed on older ones) and on CPUs with native bf16, else 32-true (fp32), which is the
    fast choice on CPUs that only emulate bf16. Anything else is returned as given."""
    if precision != "auto":
        return precision
    if trains_on_gpu(accelerator):
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "bf16-mixed" if cpu_has_native_bf16() else "32-true"


def emulated_bf16_warning(precision: str, accelerator: str = "auto") -> str | None:
    """A warning when bf16 was asked for on a CPU that only emulates it (very slow), else None."""
    on_cpu = accelerator == "cpu" or not torch.cuda.is_available()
    if precision.startswith("bf16") and on_cpu and not cpu_has_native_bf16():
        return ("this CPU emulates bf16 (no AVX512-BF16 or AMX): training in bf16 will be many "
                "times slower than fp32; set trainer.precision to auto or 32-true")
    return None
