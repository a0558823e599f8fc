"""Two training options on tiny 64x64 runs over a hand-written dataset. trainer.ema_decay: the run
keeps an exponential moving average of its weights, and its checkpoints and model.safetensors
hold it. optim.encoder_lr_scale: the encoder trains at its own share of the learning rate."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from maskdepth.errors import UserError
from maskdepth.models.weights import load_weights
from maskdepth.training.config import load_config
from maskdepth.training.module import MaskDepthModule
from test_warm_start import one_thread, tiny_args, train, write_dataset  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "scenes")


def run_recording_steps(run, *args: str) -> list[dict]:
    """Train and return the optimizer's weights after each step (before any averaging)."""
    seen = []
    original = MaskDepthModule.on_train_batch_end

    def spy(self, *spy_args, **kwargs):
        seen.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})
        return original(self, *spy_args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MaskDepthModule, "on_train_batch_end", spy)
        assert train(run, *args) == 0
    return seen


def test_the_saved_model_is_the_moving_average_of_the_steps(dataset, tmp_path):
    decay = 0.5
    steps = run_recording_steps(tmp_path / "ema", "--set", "model.variant=fast",
                                f"trainer.ema_decay={decay}", *tiny_args(dataset, 3))
    assert len(steps) == 3
    # torch's AveragedModel: the first update copies the weights, then avg = d*avg + (1-d)*new.
    expected = {k: v.float() for k, v in steps[0].items()}
    for state in steps[1:]:
        expected = {k: decay * expected[k] + (1 - decay) * state[k].float() for k in expected}
    saved, _ = load_weights(tmp_path / "ema" / "model.safetensors")
    ckpt, _ = load_weights(tmp_path / "ema" / "checkpoints" / "last.ckpt")
    moved = 0
    for key, value in saved.state_dict().items():
        if not value.is_floating_point():
            continue
        assert torch.allclose(value, expected[key], atol=1e-6), key
        assert torch.allclose(ckpt.state_dict()[key], value, atol=1e-6), key
        moved += not torch.allclose(value, steps[-1][key], atol=1e-6)
    assert moved > 0  # the average is not the last step's weights


def test_without_ema_the_saved_model_is_the_last_step(dataset, tmp_path):
    steps = run_recording_steps(tmp_path / "plain", "--set", "model.variant=fast",
                                *tiny_args(dataset, 2))
    saved, _ = load_weights(tmp_path / "plain" / "model.safetensors")
    for key, value in saved.state_dict().items():
        assert torch.equal(value, steps[-1][key]), key


def test_a_resumed_ema_run_keeps_its_average(dataset, tmp_path):
    run = tmp_path / "resumed"
    assert train(run, "--set", "model.variant=fast", "trainer.ema_decay=0.9",
                 *tiny_args(dataset, 2)) == 0
    before, _ = load_weights(run / "checkpoints" / "last.ckpt")
    steps = run_recording_steps(run, "--resume", "--set", "trainer.max_steps=3")
    assert len(steps) == 1
    after, _ = load_weights(run / "model.safetensors")
    for key, value in after.state_dict().items():
        if value.is_floating_point():
            expected = 0.9 * before.state_dict()[key] + 0.1 * steps[0][key]
            assert torch.allclose(value, expected, atol=1e-6), key


@pytest.mark.parametrize("decay", [-0.1, 1.0, 1.5])
def test_an_ema_decay_outside_zero_to_one_is_refused(decay):
    with pytest.raises(UserError, match="trainer.ema_decay"):
        load_config(None, [f"trainer.ema_decay={decay}"])


def test_encoder_lr_scale_gives_the_encoder_its_own_rate():
    from maskdepth.models import build_model
    from maskdepth.training.module import make_optimizer, parameter_groups

    config = load_config(None, ["model.variant=fast", "optim.lr=0.001", "optim.encoder_lr_scale=0.1"])
    model = build_model(config.model)
    optimizer = make_optimizer(parameter_groups(model, config.optim), config.optim)
    encoder, rest = optimizer.param_groups
    assert encoder["lr"] == pytest.approx(1e-4) and rest["lr"] == pytest.approx(1e-3)
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(names[id(p)].startswith("encoder.") for p in encoder["params"])
    assert not any(names[id(p)].startswith("encoder.") for p in rest["params"])
    assert len(encoder["params"]) + len(rest["params"]) == len(list(model.parameters()))
    plain = load_config(None, ["model.variant=fast"])
    assert len(make_optimizer(parameter_groups(model, plain.optim), plain.optim).param_groups) == 1
    with pytest.raises(UserError, match="optim.encoder_lr_scale"):
        load_config(None, ["optim.encoder_lr_scale=0"])


def test_a_run_whose_loss_turns_nan_stops_with_one_line_and_keeps_its_last_checkpoint(
        dataset, tmp_path, capsys):
    from maskdepth.cli import main as cli
    from maskdepth.training.losses import MaskDepthLoss

    original, calls = MaskDepthLoss.forward, []

    def diverging(self, *args, **kwargs):
        loss, parts = original(self, *args, **kwargs)
        calls.append(1)
        return (loss * float("nan"), parts) if len(calls) > 2 else (loss, parts)

    run = tmp_path / "nan"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MaskDepthLoss, "forward", diverging)
        code = cli(["train", "--run", str(run), "--set", "model.variant=fast",
                    *tiny_args(dataset, 5)])
    assert code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert "training stopped at step 2: the loss is nan" in error[-1]
    assert str(run / "checkpoints" / "last.ckpt") in error[-1]
    model, _ = load_weights(run / "checkpoints" / "last.ckpt")  # finite: loads
    assert all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point())


def test_a_resume_that_changes_the_parameter_groups_is_refused_before_writing(dataset, tmp_path,
                                                                              capsys):
    run = tmp_path / "groups"
    assert train(run, "--set", "model.variant=fast", *tiny_args(dataset, 2)) == 0
    config = (run / "config.yaml").read_bytes()
    last = (run / "checkpoints" / "last.ckpt").read_bytes()
    capsys.readouterr()
    assert train(run, "--resume", "--set", "optim.encoder_lr_scale=0.1", "trainer.max_steps=3") == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "1 parameter group(s)" in error[0] and "needs 2" in error[0]
    assert (run / "config.yaml").read_bytes() == config  # nothing rewritten
    assert (run / "checkpoints" / "last.ckpt").read_bytes() == last
    assert train(run, "--resume", "--set", "trainer.max_steps=3") == 0  # a plain resume still works


def test_a_full_disk_while_saving_a_checkpoint_names_the_run_folder(dataset, tmp_path, capsys):
    """torch's writer fails on a full disk with a RuntimeError about its own stream: the one
    line names the checkpoint in the run folder, never a temporary file."""
    from lightning.pytorch.plugins.io import TorchCheckpointIO

    def full(self, checkpoint, path, storage_options=None):
        raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 64 vs 0\n"
                           "PytorchStreamWriter failed writing file data/0: file write failed")

    run = tmp_path / "full"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TorchCheckpointIO, "save_checkpoint", full)
        assert train(run, "--set", "model.variant=fast", *tiny_args(dataset, 2)) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and ".tmp" not in error[0]
    assert f"{run / 'checkpoints'}" in error[0] and "cannot save the checkpoint" in error[0]
    assert "file write failed" in error[0] and f"free space in {run}" in error[0]


def test_a_recipe_holds_only_what_differs_from_its_base(tmp_path):
    (tmp_path / "base.yaml").write_text("seed: 3\noptim:\n  lr: 0.01\n  schedule: cosine\n"
                                        "data:\n  sizes: [80, 160]\n  size_steps: [0, 10]\n")
    (tmp_path / "child.yaml").write_text("base: base.yaml\noptim:\n  lr: 0.002\n"
                                         "data:\n  sizes: [160]\n  size_steps: [0]\n")
    config = load_config(tmp_path / "child.yaml", ["trainer.max_steps=7"])
    assert config.seed == 3 and config.optim.schedule == "cosine"  # from the base
    assert config.optim.lr == 0.002 and config.data.sizes == [160]  # the child's; lists replaced
    assert config.trainer.max_steps == 7
    (tmp_path / "base.yaml").write_text("base: child.yaml\n")
    with pytest.raises(UserError, match="circle"):
        load_config(tmp_path / "child.yaml")
    # the shipped recipes: every one resolves, the continuations on their bases
    configs = Path(__file__).resolve().parents[1] / "configs"
    for recipe in sorted(configs.glob("*.yaml")):
        load_config(recipe)
    assert load_config(configs / "continue-classic.yaml").data.sources[1].classic
    assert load_config(configs / "video.yaml").optim.weight_decay == \
        load_config(configs / "default.yaml").optim.weight_decay


def test_a_config_saved_by_an_older_version_reads_without_its_retired_keys(tmp_path):
    from maskdepth.training.config import TrainConfig, load_config

    saved = tmp_path / "config.yaml"
    saved.write_text("model:\n  shadow_head: false\nloss:\n  shadow_bce: 0.0\n  mask_dice: 0.5\n")
    assert load_config(saved) == TrainConfig()
