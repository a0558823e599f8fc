"""MaskDepthGenerator: a foreground mask and a metric depth map from an image and its background.

    from maskdepth import MaskDepth
    prediction = MaskDepth.load().predict("image.jpg", "background.jpg")
"""

__version__ = "0.1.0"

__all__ = ["MaskDepth", "Prediction"]


def __getattr__(name: str):
    # Lazy: `import maskdepth` (and the CLI's --help) stays fast; torch loads on first use.
    if name in ("MaskDepth", "Prediction"):
        from maskdepth.inference import api
        return getattr(api, name)
    raise AttributeError(f"module 'maskdepth' has no attribute {name!r}")
