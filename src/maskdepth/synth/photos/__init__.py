"""Real photos: RGBA cut-outs composed over photos of empty scenes (compositor.py, its OpenCV
definition paste.py) and the original dataset generator built on it (build.py)."""
