"""Every evaluation metric, defined once: used by training, `evaluate`, benchmarks and the demo.

mask.py: IoU, Dice, pixel accuracy, boundary F (pure functions and `MaskMetrics`); depth.py:
metric, scale-invariant and relative (scale-and-shift invariant) depth errors (pure functions,
`DepthMetrics`, `RelativeDepthMetrics`); table.py: the text table of results.
"""

from maskdepth.metrics.depth import (
    DEPTH_KEYS,
    ERROR_KEYS,
    MIN_DEPTH,
    REGIONS,
    RELATIVE_KEYS,
    DepthMetrics,
    RelativeDepthMetrics,
    align_scale_shift,
    depth_errors,
    depth_flicker,
    depth_metric_keys,
    relative_depth_errors,
)
from maskdepth.metrics.mask import (
    MASK_KEYS,
    MaskMetrics,
    boundary_fscore,
    mask_boundary,
    mask_confusion,
    mask_dice,
    mask_iou,
    pixel_accuracy,
)
from maskdepth.metrics.table import format_table

__all__ = [
    "DEPTH_KEYS", "ERROR_KEYS", "MASK_KEYS", "MIN_DEPTH", "REGIONS", "RELATIVE_KEYS",
    "DepthMetrics", "MaskMetrics", "RelativeDepthMetrics", "align_scale_shift", "boundary_fscore",
    "depth_errors", "depth_flicker", "depth_metric_keys", "format_table", "mask_boundary",
    "mask_confusion", "mask_dice", "mask_iou", "pixel_accuracy", "relative_depth_errors",
]
