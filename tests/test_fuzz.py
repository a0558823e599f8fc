"""Property-based fuzzing of what reads user files: the manifest parser, the image reader and the
config loader. Whatever the bytes, each either returns a valid result or raises UserError (a
one-line message for the CLI); nothing else escapes, and nothing is executed."""

from __future__ import annotations

import io
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from maskdepth.errors import UserError
from maskdepth.io import images
from maskdepth.io.layout import read_manifest
from maskdepth.io.validate import check
from maskdepth.training.config import TrainConfig, load_config

pytestmark = pytest.mark.bad_input

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

HEADER = "id,image,background,mask,depth"
PATHS = ["a.png", "b.png", "m.png", "d.png", "../out.png", "/etc/passwd", "", "sub/x.png",
         "a.png\x00", "nope.jpg", "link.png"]
GOOD = ["a.png", "b.png", "m.png", "d.png"]
ident = st.one_of(st.sampled_from(["s1", "s2", "s3", "s1 ", ""]), st.text(max_size=8))
path = st.one_of(st.sampled_from(PATHS), st.text(max_size=12))
# Mostly well-formed rows (so that the reader gets past the header), some of any shape.
well_formed = st.tuples(ident, *[st.just(g) | st.just(g) | path for g in GOOD]).map(list)
row = st.one_of(well_formed, well_formed, well_formed, st.lists(path | ident, max_size=7))
rows = st.lists(row, max_size=4)


def _csv(header: str, table: list[list[str]]) -> str:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header.split(","))
    writer.writerows(table)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A folder with a valid image pair, mask and depth for the fuzzed manifests to point at."""
    folder = tmp_path_factory.mktemp("fuzz")
    images.write_rgb(folder / "a.png", np.full((8, 8, 3), 100, np.uint8))
    images.write_rgb(folder / "b.png", np.full((8, 8, 3), 90, np.uint8))
    images.write_mask(folder / "m.png", np.eye(8, dtype=bool))
    images.write_depth(folder / "d.png", np.full((8, 8), 2.5, np.float32))
    (folder / "link.png").symlink_to("/etc/hostname")
    return folder


@FUZZ
@given(header=st.sampled_from([HEADER, HEADER, HEADER, "id,image,background"]) | st.text(max_size=40),
       table=rows)
def test_any_manifest_is_read_or_refused_with_a_user_error(files, header, table):
    manifest = files / "manifest.csv"
    manifest.write_text(_csv(header, table), encoding="utf-8", errors="surrogatepass")
    try:
        samples = read_manifest(manifest)
    except UserError:
        event("refused")
        return
    event(f"read {min(len(samples), 2)}+ samples")
    try:
        samples = check(manifest)
    except UserError:
        return
    event("valid")
    for sample in samples:  # what validates stays inside the dataset folder
        for path in (sample.image, sample.background, sample.mask, sample.depth):
            assert path is None or path.resolve().is_relative_to(files.resolve())


@FUZZ
@given(data=st.binary(max_size=400))
def test_raw_bytes_as_a_manifest(files, data):
    manifest = files / "manifest.csv"
    manifest.write_bytes(data)
    try:
        read_manifest(manifest)
    except UserError:
        pass


def _png(size: tuple[int, int], mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return buffer.getvalue()


SEEDS = [_png((6, 5), "RGB"), _png((3, 4), "L"), _png((2, 2), "I;16"), _png((4, 4), "RGBA"),
         _png((5, 5), "P"), _png((3, 3), "1")]


@FUZZ
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 200),
       flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=4),
       suffix=st.sampled_from([".png", ".jpg", ".webp", ".bmp"]))
def test_damaged_images_are_read_or_refused_with_a_user_error(tmp_path_factory, seed, cut, flips,
                                                              suffix):
    data = bytearray(seed[: max(cut, 1)] if cut < len(seed) else seed)
    for where, value in flips:
        if where < len(data):
            data[where] = value
    path = tmp_path_factory.mktemp("img") / f"x{suffix}"
    path.write_bytes(bytes(data))
    for reader in (images.read_rgb, images.read_mask, images.read_depth):
        try:
            array = reader(path)
        except UserError as error:
            assert str(path) in str(error)
            event(f"{reader.__name__}: refused")
            continue
        event(f"{reader.__name__}: read")
        assert array.ndim in (2, 3) and array.size > 0


VALID = {"model.variant": ["fast", "original"], "optim.lr": ["0.01", "1e-4"],
         "data.batch_size": ["4", "1"], "data.sizes": ["[64]", "[32, 64]"],
         "trainer.max_steps": ["10"], "trainer.precision": ["32", "bf16-mixed"],
         "data.sources": ["[{kind: engine}]", "[{kind: engine, weight: 2}]"],
         "loss.mask_bce": ["0", "2.5"], "seed": ["3"], "model.refine": ["0", "8"]}
KEYS = [*VALID, "x.y", "data.sources.0.kind", "trainer", "optim.lr.x"]
BAD = ["-1", "0", "1e9", "nan", "inf", "[1, 2", "{a: 1}", "!!python/object:os.system",
       "[{kind: engine, weight: -1}]", "true", "null", "~", ""]
override = st.sampled_from(KEYS).flatmap(lambda key: st.tuples(st.just(key), st.one_of(
    st.sampled_from(VALID.get(key, ["1"])), st.sampled_from(BAD),
    st.text(alphabet=string.printable, max_size=12))))


@FUZZ
@given(overrides=st.lists(override, max_size=3))
def test_any_override_gives_a_checked_config_or_a_user_error(overrides):
    try:
        config = load_config(None, [f"{key}={text}" for key, text in overrides])
    except UserError:
        event("refused")
        return
    event("accepted")
    assert isinstance(config, TrainConfig)
    assert config.optim.lr > 0 and config.data.batch_size >= 1 and config.trainer.max_steps >= 1


@FUZZ
@given(text=st.one_of(st.text(max_size=200),
                      st.sampled_from(["!!python/object/apply:os.system ['echo hi']",
                                       "model: !!python/name:os.system", "- 1\n- 2", "?",
                                       "1: 2", "optim: {? : 1}",
                                       "optim: {lr: [1]}", "data:\n  sizes: {}"])))
def test_any_yaml_file_gives_a_checked_config_or_a_user_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_config(path)
    except UserError:
        pass
