"""Boundary F of masks on numpy arrays (no torch): how well a predicted outline follows the true
one, at any resolution (the edges of full-size masks, where IoU barely moves).

    counts = boundary_counts(pred, truth, scored, tolerance_px=2)   # one frame, (4,) int64
    boundary_f(total_counts)                                         # pooled over frames

A mask's boundary is its foreground pixels with a background pixel among their 8 neighbours
(the mask minus its 3x3 erosion, as metrics/mask.mask_boundary); pixels outside the image count
as background. A predicted boundary pixel is right when a true boundary pixel lies
within `tolerance_px` (Chebyshev distance) of it (precision), and a true one is found when a
predicted one lies that near (recall); F = 2PR / (P + R), as metrics/mask.boundary_fscore (the
torch one training logs) scores a single image.
"""

from __future__ import annotations

import cv2
import numpy as np

_SQUARE = np.ones((3, 3), np.uint8)


def mask_edges(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool -> (H, W) bool: foreground pixels with a background 8-neighbour."""
    mask = np.ascontiguousarray(mask, bool).view(np.uint8)
    eroded = cv2.erode(mask, _SQUARE, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return (mask > eroded)


def _near(edges: np.ndarray, tolerance_px: int) -> np.ndarray:
    """Pixels within `tolerance_px` (Chebyshev) of an edge pixel."""
    size = 2 * tolerance_px + 1
    return cv2.dilate(edges.view(np.uint8), np.ones((size, size), np.uint8)) > 0


def boundary_counts(pred: np.ndarray, truth: np.ndarray, scored: np.ndarray | None = None,
                    tolerance_px: int = 2) -> np.ndarray:
    """(predicted boundary pixels near a true one, predicted boundary pixels, true boundary
    pixels near a predicted one, true boundary pixels) int64 for masks pred, truth (H, W) bool;
    only boundary pixels inside `scored` (H, W) bool count, when given."""
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in size")
    pred_edges, true_edges = mask_edges(pred), mask_edges(truth)
    counted_pred, counted_true = pred_edges, true_edges
    if scored is not None:
        counted_pred, counted_true = pred_edges & scored, true_edges & scored
    return np.array([(counted_pred & _near(true_edges, tolerance_px)).sum(), counted_pred.sum(),
                     (counted_true & _near(pred_edges, tolerance_px)).sum(), counted_true.sum()],
                    np.int64)


def boundary_f(counts: np.ndarray) -> float:
    """Boundary F of pooled boundary_counts; 1.0 when neither mask has a boundary, 0.0 when only
    one has. A prediction whose outline lies wholly outside `scored` claims nothing that can be
    wrong (precision 1): its F is its recall's."""
    hit_pred, pred, hit_true, true = (float(c) for c in counts)
    if pred == 0 and true == 0:
        return 1.0
    precision = hit_pred / pred if pred else 1.0
    recall = hit_true / true if true else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
