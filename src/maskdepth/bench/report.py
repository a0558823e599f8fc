"""`maskdepth bench all`, the report: the numbers of measure.py as Markdown (docs/BENCHMARKS.md)
with the machine, the targets and whether each is met, and what limits each rate.
"""

from __future__ import annotations

import os
import time

from maskdepth.bench.video import MARK_END, MARK_START, render_video

TARGETS = {  # name: (measured key, target, higher is better)
    "engine in memory, scenes/s at 160 px": ("engine_memory", 1000, True),
    "engine to disk, scenes/s at 160 px": ("engine_disk", 300, True),
    "photo compositor in memory >= engine's, samples/s": ("build_memory", "engine_memory", True),
    "1280x720 video, default command, frames/s with start-up": ("video_fps_1280x720", 30, True),
    "640x480 video, default command, frames/s with start-up": ("video_fps_640x480", 60, True),
    "training data + loss share of a step, %": ("data_loss_percent", 5, False),
}



def _met(results: dict, key, target, higher: bool) -> tuple[str, str]:
    value = results.get(key)
    if value is None:
        return "not measured", "-"
    goal = results.get(target) if isinstance(target, str) else target
    if goal is None:
        return f"{value:,.1f}", "-"
    ok = value >= goal if higher else value <= goal
    return f"{value:,.1f}", ("met" if ok else "missed")


KEPT = "<!-- measured by other commands: kept by bench all -->"


def kept_sections(report: str) -> str:
    """What a report holds from the KEPT marker on (sections other commands measure and name),
    to be carried into the report `bench all` writes next; "" without the marker."""
    return "\n" + report[report.index(KEPT):] if KEPT in report else ""


def render(results: dict, command: str) -> str:
    """The Markdown report of `measure.measure`'s numbers."""
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{command}` on {time.strftime('%Y-%m-%d')}. Machine: {results['machine']}.",
        ("A tiny smoke run: sizes and timings are too small for the targets to mean anything."
         if results["tiny"] else
         "Absolute figures vary about 15 % from run to run on a shared machine."),
        "",
        "## Targets",
        "",
        "| target | goal | measured | |",
        "| --- | --- | --- | --- |",
    ]
    for name, (key, target, higher) in TARGETS.items():
        value, verdict = _met(results, key, target, higher)
        goal = (f"{'>=' if higher else '<='} {target:,}" if not isinstance(target, str)
                else ">= engine")
        lines.append(f"| {name} | {goal} | {value} | {verdict} |")
    bf16 = (f"{results['matmul_bf16']:.0f} GFLOP/s" if results.get("matmul_bf16") else
            "not native here (emulated: training stays fp32; bf16-mixed is used where the CPU "
            "has AVX512-BF16 or AMX)")
    lines += ["", "## Machine", "",
              f"- fp32 matmul (2048x2048): {results['matmul_fp32']:.0f} GFLOP/s",
              f"- bf16 matmul: {bf16}", ""]
    lines += ["## Data", "",
              "| source | in memory, samples/s | to disk, samples/s |", "| --- | --- | --- |",
              f"| scene engine | {results['engine_memory']:,.0f} | {results['engine_disk']:,.0f} |"]
    if "build_memory" in results:
        lines.append(f"| photo compositor (build) | {results['build_memory']:,.0f} | "
                     f"{results['build_disk']:,.0f} |")
    lines += ["", "## Models (fp32, batch 8; difference input, edge refiner 8)", "",
              ("| variant | size | params (M) | GFLOPs/img | PyTorch img/s | ONNX Runtime img/s | "
              "train img/s | share of matmul rate |"),
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in results["variants"]:
        lines.append(f"| {row['variant']} | {row['size']} | {row['parameters_m']:.1f} | "
                     f"{row['gflops']:.2f} | {row['torch_infer']:,.1f} | {row['onnx_infer']:,.1f} | "
                     f"{row['torch_train']:,.1f} | {100 * row['matmul_fraction']:.0f} % |")
    profile = results["profile"]
    lines += ["", (f"## Training step profile (default recipe's model, engine data, "
                  f"{profile['steps']} steps)"), "",
              (f"{profile['step_ms']:.0f} ms a step, {profile['images_per_s']:.1f} images/s; "
              f"peak memory {profile['peak_memory_mib']:.0f} MiB."), "",
              "| " + " | ".join(profile["percent"]) + " |",
              "| " + " | ".join("---" for _ in profile["percent"]) + " |",
              "| " + " | ".join(f"{v:.1f} %" for v in profile["percent"].values()) + " |"]
    video = results["video"]
    lines += ["", MARK_START, render_video(video["sizes"], command) + MARK_END, "",
              "Classical baselines (mask only, no depth; MOG2 primed with the background for "
              "each frame, as `evaluate` scores it) at 640x480: " +
              ", ".join(f"{name} {rate:,.0f} frames/s" for name, rate in video["baselines"].items()),
              ""]
    lines += _limits(results)
    return "\n".join(lines)


def _limits(results: dict) -> list[str]:
    """What limits each measured rate, from the numbers of this run."""
    profile = results["profile"]["percent"]
    engine = results["engine_stages"]
    in_memory = sum(v for k, v in engine.items() if not k.startswith("PNG"))
    lines = ["## What limits the rates", "",
             _video_limits(results["video"]["sizes"]), "",
             (f"**Training.** The step profile: data wait {profile.get('data_wait', 0):.1f} % "
             f"(scenes rendered in the training process: `num_workers: 0` is faster on 2 cores "
             f"than a worker competing for them) and loss {profile.get('loss', 0):.1f} % (SSIM "
             f"and Sobel terms at full resolution); backward {profile.get('backward', 0):.1f} % "
             f"dominates. On a machine with more cores, `data.num_workers` > 0 or "
             f"`data.prefetch: true` (the next batch rendered on a thread) takes the data wait "
             f"off the step; on these 2 cores either only moves it into the forward pass."), "",
             (f"**Scene engine.** Wall milliseconds per scene of each stage on {os.cpu_count()} "
             "cores (best of several batches): " + ", ".join(f"{name} {ms:.2f}" for name, ms in engine.items()) +
             f". In memory that allows about {1000 / in_memory:.0f} scenes/s; 1,000 needs 1 ms. "
             "The render and capture kernels (synth/kernels/room.py, kernels/capture.py) split "
             "each batch across the cores; what "
             "is left is per-pixel arithmetic (texture and sprite look-ups, 1 / distance, "
             "exposure) and memory traffic: a batch of 64 scenes at 160 px is 20 MB of float32 "
             "images per pass, on a machine whose copy bandwidth measured a few GB/s. "
             "To disk adds PNG encoding (zlib, on 2 writer threads), which alone caps the rate "
             f"near {2000 / engine['PNG files (one thread)']:.0f} scenes/s before rendering. "
             "The rate varies with the load of the machine's neighbours more than anything "
             "else measured."), ""]
    return lines


def _video_limits(sizes: dict) -> str:
    """What limits the video frame rate, from the stage costs of this run."""
    parts = []
    for name, row in sizes.items():
        stages = row["stages_ms"]
        total = sum(stages.values())
        top = sorted(stages.items(), key=lambda item: -item[1])[:3]
        parts.append(f"at {name}, {total:.1f} CPU ms a frame in all (two cores allow at most "
                     f"about {2000 / total:.0f} frames/s before start-up), most in " +
                     ", ".join(f"{stage} {ms:.1f}" for stage, ms in top))
    return ("**Video.** " + "; ".join(parts) + ". The stages overlap on the cores: decoding in "
            "one thread, the model and the full-size mask in another, each video's encoder in "
            "its own.")
