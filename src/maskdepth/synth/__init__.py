"""Procedural scene engine: camera, room, objects and capture conditions with exact ground truth."""

from maskdepth.synth.config import CaptureConfig, SceneConfig
from maskdepth.synth.engine.scene_engine import KEYS, SceneEngine

__all__ = ["KEYS", "CaptureConfig", "SceneConfig", "SceneEngine"]
