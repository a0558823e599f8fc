"""Model files with damaged or tampered contents (config, lineage, outputs, checkpoint layout):
each kind is one line naming the file, never a traceback, for every file kind."""

from __future__ import annotations

import onnx
import pytest
import torch
from safetensors.torch import load_file, save_file

from maskdepth.errors import UserError
from maskdepth.inference.api import MaskDepth
from maskdepth.models import build_model
from maskdepth.models.config import CONFIG_KEY
from maskdepth.models.lineage import LINEAGE_KEY
from maskdepth.models.weights import load_weights, read_metadata, save_model
from maskdepth.runtime.export import export_onnx

pytestmark = pytest.mark.bad_input


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    torch.manual_seed(0)
    model = build_model().eval()
    weights = save_model(model, folder / "m.safetensors", lineage=[{"run": "a", "steps": 2}])
    return folder, weights, export_onnx(model, folder / "m.onnx", 32, 32)


def _one_line(call, fragment: str) -> None:
    with pytest.raises(UserError, match=fragment) as error:
        call()
    assert "\n" not in str(error.value)


def _tampered_weights(files, name: str, **metadata) -> str:
    folder, weights, _ = files
    stored = {**read_metadata(weights), **metadata}
    path = folder / name
    save_file(load_file(str(weights)), str(path), metadata=stored)
    return path


@pytest.mark.parametrize(("config", "fragment"), [
    ("[1, 2]", "must be a JSON object, got list"), ("null", "must be a JSON object, got NoneType"),
    ("{bad json", "not valid JSON"), ('{"variant": "fast", "refine": -3}', "refine=-3, below 0"),
    ('{"variant": "fast", "max_depth": "12"}', "max_depth='12', not int or float"),
    ('{"variant": "fast", "difference": 1}', "difference=1, not bool"),
    ('{"variant": "huge"}', "unknown model variant 'huge'"),
])
def test_a_tampered_config_is_refused_in_weights_and_onnx_files(files, config, fragment):
    folder, _, onnx_file = files
    weights = _tampered_weights(files, "t.safetensors", **{CONFIG_KEY: config})
    _one_line(lambda: load_weights(weights), fragment)
    proto = onnx.load(str(onnx_file))
    for prop in proto.metadata_props:
        if prop.key == CONFIG_KEY:
            prop.value = config
    onnx.save(proto, str(folder / "t.onnx"))
    _one_line(lambda: MaskDepth.load(folder / "t.onnx"), fragment)


@pytest.mark.parametrize(("lineage", "fragment"), [
    ('[{"steps": "many"}]', "lineage entry 1 has steps='many'"),
    ('[{"run": "a"}, {"sizes": [160, "big"]}]', "lineage entry 2 has sizes"),
    ('{"run": "a"}', "must be a list of run entries"),
])
def test_lineage_entries_of_the_wrong_type_are_refused_and_not_copied_on(files, lineage, fragment, tmp_path):
    from maskdepth.cli import main

    weights = _tampered_weights(files, "l.safetensors", **{LINEAGE_KEY: lineage})
    _one_line(lambda: load_weights(weights), fragment)
    assert main(["train", "--init", str(weights), "--run", str(tmp_path / "r"),
                 "--set", "trainer.max_steps=1"]) == 2
    assert not (tmp_path / "r").exists()


def test_onnx_outputs_under_other_names_are_refused(files):
    folder, _, onnx_file = files
    proto = onnx.load(str(onnx_file))
    renamed = {out.name: f"renamed_{out.name}" for out in proto.graph.output}
    for node in proto.graph.node:
        node.output[:] = [renamed.get(name, name) for name in node.output]
    for out in proto.graph.output:
        out.name = renamed[out.name]
    onnx.save(proto, str(folder / "o.onnx"))
    _one_line(lambda: MaskDepth.load(folder / "o.onnx"), "without mask_logits and depth")


@pytest.mark.parametrize("content", [torch.zeros(3), {"maskdepth": {"config": [1, 2]}, "state_dict": {}},
                                     {"maskdepth": {"config": {"model": "fast"}}, "state_dict": {}}])
def test_checkpoints_of_another_layout_are_refused(content, tmp_path):
    path = tmp_path / "x.ckpt"
    torch.save(content, path)
    with pytest.raises(UserError) as error:
        load_weights(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)
