"""MaskDepthGenerator: a foreground mask and a metric depth map from an image and its background."""

__version__ = "0.1.0"
