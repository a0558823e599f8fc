"""The original exercise's archives, built here in their exact layout (from ../shared/photos when
it is there): read in place for training, evaluation, validation and prediction, converted to a
dataset folder, and every kind of bad archive refused with a message naming the row or member."""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskdepth.cli import main
from maskdepth.data.archive import ArchiveDataset
from maskdepth.errors import UserError
from maskdepth.io.images import read_depth, read_mask, read_rgb
from maskdepth.io.original import OriginalArchive, relative_depth

SIZE = 48
SHARED = Path(__file__).resolve().parents[2] / "shared" / "photos"


def _encode(array: np.ndarray, kind: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=kind, quality=95)
    return buffer.getvalue()


def _materials(count: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """`count` room photos (SIZE x SIZE RGB) and cut-outs (RGBA), from ../shared/photos when it
    is there, else drawn."""
    rng = np.random.default_rng(0)
    rooms, cutouts = [], []
    backgrounds = sorted((SHARED / "backgrounds").glob("*"))[:count] if SHARED.is_dir() else []
    foregrounds = sorted((SHARED / "foregrounds").glob("*"))[:count] if SHARED.is_dir() else []
    for i in range(count):
        if i < len(backgrounds):
            rooms.append(np.asarray(Image.open(backgrounds[i]).convert("RGB").resize((SIZE, SIZE))))
        else:
            rooms.append(rng.integers(40, 200, (SIZE, SIZE, 3), dtype=np.uint8))
        if i < len(foregrounds):
            cutouts.append(np.asarray(Image.open(foregrounds[i]).convert("RGBA").resize((20, 30))))
        else:
            rgba = np.zeros((30, 20, 4), np.uint8)
            rgba[..., :3] = rng.integers(0, 255, 3)
            rgba[3:27, 4:16, 3] = 255
            cutouts.append(rgba)
    return rooms, cutouts


def make_original(folder: Path, rows: int = 6, near_bright: bool = True,
                  depth_archive: bool = True) -> dict[str, dict]:
    """The original layout in `folder`: bg/bgNNN.jpg, fg_bg_masks.zip (fg_bg/*.jpg,
    fg_bg_mask/*.jpg, data_label.txt) and depth.zip (depth/*.jpg, depth_label.txt). Returns
    what each composite was made of, by id."""
    rooms, cutouts = _materials(3)
    (folder / "bg").mkdir(parents=True)
    for i, room in enumerate(rooms):
        Image.fromarray(room).save(folder / "bg" / f"bg{i + 1:03d}.jpg", quality=95)
    truth, labels, depth_labels = {}, [], []
    masks = zipfile.ZipFile(folder / "fg_bg_masks.zip", "w")
    depths = zipfile.ZipFile(folder / "depth.zip", "w") if depth_archive else None
    for n in range(rows):
        b, f = n % 3, (n // 3) % 3
        x, y = 4 + 5 * n % 24, 10 + n % 8
        room = np.asarray(Image.open(folder / "bg" / f"bg{b + 1:03d}.jpg"))
        cutout = cutouts[f]
        h, w = cutout.shape[:2]
        alpha = cutout[..., 3:] / 255.0
        image = room.astype(np.float64)
        image[y:y + h, x:x + w] = image[y:y + h, x:x + w] * (1 - alpha) + cutout[..., :3] * alpha
        image = image.round().astype(np.uint8)
        mask = np.zeros((SIZE, SIZE), np.uint8)
        mask[y:y + h, x:x + w] = np.where(cutout[..., 3] > 127, 255, 0)
        teacher = np.tile(np.linspace(20, 120, SIZE, dtype=np.float32)[:, None], (1, SIZE))
        teacher[mask > 0] = 200  # the person is nearer than the room behind
        teacher = teacher.astype(np.uint8) if near_bright else (255 - teacher).astype(np.uint8)
        sample = f"fg_bg_{b + 1:03d}_{f + 1:03d}_{n:04d}"
        masks.writestr(f"fg_bg/{sample}.jpg", _encode(image))
        masks.writestr(f"fg_bg_mask/{sample}.jpg", _encode(mask))
        labels.append("\t".join([f"bg{b + 1:03d}", f"fg{f + 1:03d}", f"fg_bg/{sample}.jpg",
                                 f"fg_bg_mask/{sample}.jpg", str(x), str(y), str(w), str(h)]))
        if depths is not None:
            depths.writestr(f"depth/{sample}.jpg", _encode(teacher, "PNG"))
            depth_labels.append(f"batch{n // 4}\tfg_bg/{sample}.jpg\tdepth/{sample}.jpg")
        truth[sample] = {"mask": mask > 127, "teacher": teacher, "bg": b}
    masks.writestr("data_label.txt", "\n".join(labels) + "\n\n")  # and an empty last line
    masks.close()
    if depths is not None:
        depths.writestr("depth_label.txt", "\n".join(depth_labels) + "\n")
        depths.close()
    return truth


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("original") / "s15"
    return folder, make_original(folder)


def test_archives_are_read_in_place_with_the_sources_pixels(original):
    folder, truth = original
    dataset = ArchiveDataset(folder)
    assert dataset.ids == list(truth) and dataset.archive.polarity == "near-bright"
    with zipfile.ZipFile(folder / "fg_bg_masks.zip") as archive:
        for index, sample_id in enumerate(dataset.ids):
            item = dataset[index]
            stored = np.asarray(Image.open(io.BytesIO(archive.read(f"fg_bg/{sample_id}.jpg"))))
            assert np.array_equal((item["image"] * 255).round().byte().permute(1, 2, 0).numpy(),
                                  stored)
            room = np.asarray(Image.open(folder / "bg" / f"bg{truth[sample_id]['bg'] + 1:03d}.jpg"))
            assert np.array_equal((item["background"] * 255).round().byte().permute(1, 2, 0).numpy(),
                                  room)
            agree = (item["mask"][0].numpy() > 0.5) == truth[sample_id]["mask"]
            assert agree.mean() > 0.99  # JPEG masks, thresholded at 127
            expected = relative_depth(truth[sample_id]["teacher"], "near-bright")
            assert np.array_equal(item["depth"][0].numpy(), expected)
            assert item["relative"] == 1 and expected.min() > 0
            # near = bright: the person is nearer (smaller relative depth) than the room
            assert expected[truth[sample_id]["mask"]].mean() < expected[~truth[sample_id]["mask"]].mean()


def test_members_read_from_many_threads_are_the_stored_bytes(original):
    from concurrent.futures import ThreadPoolExecutor

    from maskdepth.io.archive import Zip

    folder, _ = original
    archive = Zip(folder / "fg_bg_masks.zip")
    with zipfile.ZipFile(folder / "fg_bg_masks.zip") as reference:
        expected = [reference.read(name) for name in archive.lookup]
    indices = list(range(len(expected))) * 20
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(archive.read, indices))
    assert got == [expected[i] for i in indices]
    assert [archive.name(i) for i in range(len(expected))] == list(archive.lookup)


def test_polarity_is_detected_both_ways_and_mask_only_archives_work(tmp_path):
    make_original(tmp_path / "dark", near_bright=False)
    assert OriginalArchive.open(tmp_path / "dark").polarity == "near-dark"
    make_original(tmp_path / "masks", depth_archive=False)
    dataset = ArchiveDataset(tmp_path / "masks")
    item = dataset[0]
    assert not dataset.archive.has_depth and item["relative"] == 0 and item["depth"].sum() == 0


def test_training_reads_the_archives_with_two_workers(original, tmp_path):
    from maskdepth.data.sources import TrainStream
    from maskdepth.training.config import load_config
    from maskdepth.training.fit import fit
    from maskdepth.training.losses import MaskDepthLoss

    folder, _ = original
    source = f"data.sources=[{{kind: archive, path: '{folder}'}}]"
    config = load_config(None, [source, "model.variant=fast", "data.sizes=[32]",
                                "data.size_steps=[0]", "data.batch_size=4", "data.num_workers=2",
                                "data.val_count=2", "data.val_size=32", "trainer.max_steps=3",
                                "trainer.val_every=3"])
    batch = TrainStream(config.data, seed=0).make(TrainStream(config.data, 0).build(), 0, 0)
    assert batch["relative"].tolist() == [1.0] * 4 and batch["image"].shape == (4, 3, 32, 32)
    from maskdepth.models import build_model

    model = build_model(variant="fast")
    _, parts = MaskDepthLoss(config.loss)(model(batch["image"], batch["background"]), batch)
    assert "depth_relative" in parts
    assert "depth_l1" not in parts or parts["depth_l1"] == 0
    fit(config, tmp_path / "run")
    assert (tmp_path / "run" / "model.safetensors").exists()
    assert main(["train", "--data", str(folder), "--run", str(tmp_path / "cli"), "--set",
                 "model.variant=fast", "data.sizes=[32]", "data.size_steps=[0]",
                 "data.batch_size=2", "data.val_count=2", "data.val_size=32",
                 "trainer.max_steps=1", "trainer.val_every=1"]) == 0
    saved = (tmp_path / "cli" / "config.yaml").read_text()
    assert "kind: archive" in saved and str(folder) in saved


def test_evaluate_validate_and_predict_take_the_archive_folder(original, tmp_path, capsys):
    folder, truth = original
    report = tmp_path / "metrics.json"
    assert main(["evaluate", "--data", str(folder), "--json", str(report)]) == 2  # no model
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(_weights()), "--data", str(folder),
                 "--json", str(report)]) == 0
    model = json.loads(report.read_text())["s15: model"]
    assert 0 <= model["depth_ssi_mae"] < 1 and "depth_rmse" not in model and "mask_iou" in model
    assert main(["validate", str(folder)]) == 0
    assert "OK: 6 samples (original archives" in capsys.readouterr().out
    out = tmp_path / "preds"
    assert main(["predict", "--data", str(folder), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*_mask.png")) == sorted(f"{i}_mask.png" for i in truth)


def _weights() -> Path:
    from maskdepth.models.zoo import resolve_model

    return resolve_model(None).weights


def test_convert_writes_a_dataset_equal_to_the_archives(original, tmp_path, capsys):
    folder, _ = original
    out = tmp_path / "converted"
    assert main(["convert", "--backgrounds", str(folder / "bg"), "--masks",
                 str(folder / "fg_bg_masks.zip"), "--depths", str(folder / "depth.zip"),
                 "--out", str(out)]) == 0
    assert "wrote 6 samples with relative depth (near = bright)" in capsys.readouterr().out
    assert main(["validate", str(out)]) == 0
    assert (out / "depth_relative.txt").exists()
    dataset = ArchiveDataset(folder)
    with zipfile.ZipFile(folder / "fg_bg_masks.zip") as archive:
        for index, sample_id in enumerate(dataset.ids):
            assert (out / "images" / f"{sample_id}.jpg").read_bytes() == \
                archive.read(f"fg_bg/{sample_id}.jpg")  # copied as stored
            assert np.array_equal(read_mask(out / "masks" / f"{sample_id}.png"),
                                  dataset[index]["mask"][0].numpy() > 0.5)
            depth = read_depth(out / "depth" / f"{sample_id}.png") * (1000 / 65535)
            assert np.abs(depth - dataset[index]["depth"][0].numpy()).max() < 1e-5
    assert np.array_equal(read_rgb(out / "backgrounds" / "bg001.jpg"), read_rgb(folder / "bg" / "bg001.jpg"))
    # The same metrics from the converted folder as from the archives read in place.
    for data, name in ((folder, "a.json"), (out, "c.json")):
        assert main(["evaluate", "--checkpoint", str(_weights()), "--data", str(data),
                     "--json", str(tmp_path / name)]) == 0
    first, second = (json.loads((tmp_path / n).read_text())[f"{d}: model"]
                     for n, d in (("a.json", "s15"), ("c.json", "converted")))
    assert first.keys() == second.keys()
    assert all(abs(first[k] - second[k]) < 1e-4 for k in first)


def test_rows_that_do_not_join_are_reported_not_fatal(tmp_path, capsys):
    folder = tmp_path / "s15"
    make_original(folder)
    with zipfile.ZipFile(folder / "fg_bg_masks.zip", "a") as archive:
        archive.writestr("extra.txt", "")
    labels = _rewrite(folder / "fg_bg_masks.zip", "data_label.txt",
                      lambda text: text + "bg009\tfg001\tfg_bg/gone.jpg\tfg_bg_mask/gone.jpg\t1\t1\t1\t1\n")
    assert "gone" in labels
    out = tmp_path / "out"
    assert main(["convert", "--backgrounds", str(folder / "bg"), "--masks",
                 str(folder / "fg_bg_masks.zip"), "--out", str(out)]) == 0
    assert "left out 1 row(s)" in capsys.readouterr().out
    assert "background 'bg009' not found" in (out / "convert_report.txt").read_text()


def _rewrite(archive_path: Path, member: str, change) -> str:
    """Replace one member's text in a zip (rebuilding the archive)."""
    with zipfile.ZipFile(archive_path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members[member] = change(members[member].decode()).encode()
    with zipfile.ZipFile(archive_path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return members[member].decode()


def _add(archive_path: Path, name: str, data: bytes, **kwargs) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(archive_path, "a", **kwargs) as archive:
            archive.writestr(name, data)


def _label(folder: Path, member: str, mask: str | None = None) -> None:
    _rewrite(folder / "fg_bg_masks.zip", "data_label.txt",
             lambda text: text.rstrip("\n") + f"\nbg001\tfg001\t{member}\t{mask or member}\t1\t1\t1\t1\n")


BAD_ARCHIVES = {
    "no label file": (lambda f: _rewrite(f / "fg_bg_masks.zip", "data_label.txt", lambda t: t)
                      and (f / "fg_bg_masks.zip").rename(f / "plain.zip")
                      and _strip_label(f / "plain.zip"), "holds data_label.txt or depth_label.txt"),
    "a row with 7 fields": (lambda f: _rewrite(f / "fg_bg_masks.zip", "data_label.txt",
                                               lambda t: "bg001\tfg001\tx.jpg\tm.jpg\t1\t2\t3\n" + t),
                            "data_label.txt line 1: 7 fields where 8 are expected"),
    "a member that is not an image": (lambda f: (_add(f / "fg_bg_masks.zip", "fg_bg/text.jpg", b"hello"),
                                                 _label(f, "fg_bg/text.jpg"),
                                                 (f / "depth.zip").unlink()),  # masks only
                                      "fg_bg/text.jpg: not a readable image"),
    "duplicate member names": (lambda f: _add(f / "fg_bg_masks.zip", "data_label.txt", b""),
                               "'data_label.txt' appears twice"),
    "a member climbing out": (lambda f: _add(f / "fg_bg_masks.zip", "../evil.png", b"x"),
                              "'../evil.png', which is absolute or leaves the archive"),
    "an absolute member": (lambda f: _add(f / "fg_bg_masks.zip", "/tmp/evil.png", b"x"),
                           "'/tmp/evil.png', which is absolute or leaves the archive"),
    "a label naming a member outside": (lambda f: _label(f, "../../etc/passwd"),
                                        "'../../etc/passwd', which is absolute or leaves"),
    "a zip bomb": (lambda f: _add(f / "fg_bg_masks.zip", "fg_bg/bomb.jpg", bytes(24 << 20),
                                  compression=zipfile.ZIP_DEFLATED),
                   "'fg_bg/bomb.jpg' declares 25,165,824 bytes"),
    "a repeated composite": (lambda f: _rewrite(f / "fg_bg_masks.zip", "data_label.txt",
                                                lambda t: t.rstrip("\n") + "\n" + t.splitlines()[0] + "\n"),
                             "repeats the composite"),
    "a depth archive alone": (lambda f: (f / "fg_bg_masks.zip").unlink(),
                              "a depth archive alone"),
    "an empty label file": (lambda f: _rewrite(f / "fg_bg_masks.zip", "data_label.txt", lambda t: "\n"),
                            "data_label.txt holds no rows"),
    "a label file in UTF-16 without a mark": (
        lambda f: _rewrite_bytes(f / "fg_bg_masks.zip", "data_label.txt",
                                 lambda data: data.decode().encode("utf-16-le")),
        "looks like UTF-16 text without a byte-order mark"),
}


def _rewrite_bytes(archive_path: Path, member: str, change) -> bool:
    """Replace one member's bytes in a zip (rebuilding the archive)."""
    with zipfile.ZipFile(archive_path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members[member] = change(members[member])
    with zipfile.ZipFile(archive_path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return True


@pytest.mark.parametrize("encode", [lambda t: "\ufeff".encode() + t.encode(),
                                    lambda t: t.encode("utf-16")], ids=["utf-8 mark", "utf-16"])
def test_label_files_with_a_byte_order_mark_keep_every_row(tmp_path, encode):
    from maskdepth.io.original import OriginalArchive

    folder = tmp_path / "s15"
    truth = make_original(folder)
    _rewrite_bytes(folder / "fg_bg_masks.zip", "data_label.txt", lambda data: encode(data.decode()))
    archive = OriginalArchive.open(folder)
    assert sorted(archive.ids) == sorted(truth) and not archive.skipped


def test_training_data_says_which_rows_it_leaves_out(tmp_path):
    from maskdepth.data.archive import ArchiveDataset

    folder = tmp_path / "s15"
    make_original(folder)
    _rewrite(folder / "fg_bg_masks.zip", "data_label.txt",
             lambda text: text + "bg009\tfg001\tfg_bg/gone.jpg\tfg_bg_mask/gone.jpg\t1\t1\t1\t1\n")
    with pytest.warns(UserWarning, match=r"1 label row\(s\) left out .*background 'bg009' not found"):
        ArchiveDataset(folder)


def _strip_label(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist() if i.filename != "data_label.txt"}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    (path.parent / "depth.zip").unlink()
    return True


@pytest.mark.bad_input
@pytest.mark.parametrize("name", BAD_ARCHIVES)
def test_bad_archives_are_refused_and_nothing_lands_outside_out(name, tmp_path, capsys):
    folder = tmp_path / "s15"
    make_original(folder)
    spoil, message = BAD_ARCHIVES[name]
    spoil(folder)
    before = sorted(p for p in tmp_path.rglob("*"))
    out = tmp_path / "out"
    if name in ("no label file", "a depth archive alone"):
        argv = ["validate", str(folder)]
        assert main(argv) == 1
        assert message in capsys.readouterr().out
    else:
        depths = ["--depths", str(folder / "depth.zip")] if (folder / "depth.zip").exists() else []
        argv = ["convert", "--backgrounds", str(folder / "bg"), "--masks",
                str(folder / "fg_bg_masks.zip"), *depths, "--out", str(out)]
        assert main(argv) == 2
        err = "\n".join(line for line in capsys.readouterr().err.strip().splitlines()
                        if "%|" not in line)  # tqdm's bar
        assert message in err and "\n" not in err and "Traceback" not in err, err
        with pytest.raises(UserError, match="archive|line|member|readable|composite"):
            list(iter(ArchiveDataset(folder)))  # the same refusal when read in place
    assert sorted(p for p in tmp_path.rglob("*") if not p.is_relative_to(out)) == before
    assert not (out / "manifest.csv").exists()


@pytest.mark.bad_input
def test_validate_refuses_an_archive_with_an_empty_label_file(tmp_path, capsys):
    folder = tmp_path / "s15"
    make_original(folder)
    _rewrite(folder / "fg_bg_masks.zip", "data_label.txt", lambda text: "")
    assert main(["validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "data_label.txt holds no rows" in out and "OK" not in out
