"""Memory and speed of reading the original archives in place, against a dataset folder.

    python scripts/archive_memory.py --rows 60000 --size 32

Writes archives in the original layout (rows composites + rows masks + rows depth images:
3 x rows small members), then in a fresh process opens them with ArchiveDataset
and iterates over every sample, printing the resident memory after 1 %, 10 % and all of the
samples (flat memory: the figure does not grow), and compares samples/s with the same samples
converted to a dataset folder (ManifestDataset).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ITERATE = """
import resource, sys, time
import torch
from maskdepth.data.archive import ArchiveDataset
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
before = resident()
start = time.perf_counter()
dataset = ArchiveDataset(sys.argv[1])
opened = time.perf_counter() - start
print(f"resident memory {before:.0f} MiB with torch loaded, {resident():.0f} MiB with the archives open")
marks = {max(1, len(dataset) // 100), max(1, len(dataset) // 10), len(dataset)}
start = time.perf_counter()
for index in range(len(dataset)):
    dataset[index]
    if index + 1 in marks:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"after {index + 1:>7,} samples: resident {resident():.0f} MiB (peak {peak:.0f})",
              flush=True)
rate = len(dataset) / (time.perf_counter() - start)
print(f"labels parsed and joined in {opened:.1f} s; {rate:.0f} samples/s")
"""

COMPARE = """
import sys, time
from maskdepth.data.archive import ArchiveDataset
from maskdepth.data.manifest import ManifestDataset
count = int(sys.argv[3])
for name, dataset in (("archive (zip, in place)", ArchiveDataset(sys.argv[1])),
                      ("dataset folder", ManifestDataset(sys.argv[2], validate=False))):
    dataset[0]
    start = time.perf_counter()
    for index in range(count):
        dataset[index]
    print(f"{name}: {count / (time.perf_counter() - start):.0f} samples/s")
"""


def encode(array: np.ndarray, kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=kind, quality=90)
    return buffer.getvalue()


def write_archives(folder: Path, rows: int, size: int) -> None:
    rng = np.random.default_rng(0)
    (folder / "bg").mkdir(parents=True)
    rooms = [rng.integers(30, 220, (size, size, 3), dtype=np.uint8) for _ in range(100)]
    for i, room in enumerate(rooms):
        Image.fromarray(room).save(folder / "bg" / f"bg{i + 1:03d}.jpg")
    labels, depth_labels = [], []
    with zipfile.ZipFile(folder / "fg_bg_masks.zip", "w") as masks, \
            zipfile.ZipFile(folder / "depth.zip", "w") as depths:
        for n in range(rows):
            image = rooms[n % 100].copy()
            mask = np.zeros((size, size), np.uint8)
            x, y = rng.integers(0, size // 2, 2)
            image[y:y + size // 2, x:x + size // 4] = rng.integers(0, 255, 3)
            mask[y:y + size // 2, x:x + size // 4] = 255
            depth = np.where(mask > 0, 200, 80).astype(np.uint8)
            name = f"fg_bg_{n:06d}"
            masks.writestr(f"fg_bg/{name}.jpg", encode(image, "JPEG"))
            masks.writestr(f"fg_bg_mask/{name}.jpg", encode(mask, "JPEG"))
            depths.writestr(f"depth/{name}.jpg", encode(depth, "JPEG"))
            labels.append(f"bg{n % 100 + 1:03d}\tfg{n % 100 + 1:03d}\tfg_bg/{name}.jpg\t"
                          f"fg_bg_mask/{name}.jpg\t{x}\t{y}\t{size // 4}\t{size // 2}")
            depth_labels.append(f"{n // 1000}\tfg_bg/{name}.jpg\tdepth/{name}.jpg")
        masks.writestr("data_label.txt", "\n".join(labels) + "\n")
        depths.writestr("depth_label.txt", "\n".join(depth_labels) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--compare", type=int, default=2000, help="samples timed in the comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root) / "original"
        start = time.perf_counter()
        write_archives(folder, args.rows, args.size)
        members = sum(len(zipfile.ZipFile(z).namelist()) for z in folder.glob("*.zip"))
        print(f"{args.rows:,} rows, {members:,} members at {args.size} px written in "
              f"{time.perf_counter() - start:.0f} s")
        subprocess.run([sys.executable, "-c", ITERATE, str(folder)], check=True)
        converted = Path(root) / "converted"
        subset = Path(root) / "subset"
        write_archives(subset, args.compare, args.size)
        subprocess.run([sys.executable, "-m", "maskdepth", "convert", "--backgrounds",
                        str(subset / "bg"), "--masks", str(subset / "fg_bg_masks.zip"),
                        "--depths", str(subset / "depth.zip"), "--out", str(converted)],
                       check=True, capture_output=True)
        subprocess.run([sys.executable, "-c", COMPARE, str(subset), str(converted),
                        str(args.compare)], check=True)


if __name__ == "__main__":
    main()
