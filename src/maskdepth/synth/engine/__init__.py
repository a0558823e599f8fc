"""The procedural scene engine: rooms, furniture, objects and windows sampled per scene
(scene.py, room.py, furniture.py, objects.py, pieces.py, windows.py), rendered by the compiled
kernels or PyTorch (renderers.py), and the SceneEngine that puts them together (scene_engine.py)."""
