"""Furniture pieces of real sizes, each a list of boxes in its own frame: what a desk, chair,
cabinet, shelf, sofa, column or partition is made of, and how often each is drawn. furniture.py
places them in rooms."""

from __future__ import annotations

import numpy as np

# A piece is a list of boxes in its own frame: a (along the wall it backs onto), y (up), c (out
# from that wall), each (a0, a1, y0, y1, c0, c1) in metres.
Piece = list[tuple[float, float, float, float, float, float]]


def _legs(w: float, d: float, h: float, leg: float, inset: float) -> Piece:
    return [(a, a + leg, 0.0, h, c, c + leg) for a in (inset, w - inset - leg) for c in (inset, d - inset - leg)]


def desk(rng: np.random.Generator, ceiling: float) -> tuple[Piece, float, float]:
    """A desk or table top on four legs or two side panels; returns (boxes, width, depth)."""
    w, d, h = rng.uniform(1.0, 1.8), rng.uniform(0.6, 0.9), rng.uniform(0.72, 0.76)
    top = rng.uniform(0.025, 0.05)
    boxes: Piece = [(0.0, w, h - top, h, 0.0, d)]
    if rng.random() < 0.5:
        boxes += _legs(w, d, h - top, rng.uniform(0.04, 0.07), 0.03)
    else:
        boxes += [(a, a + 0.025, 0.0, h - top, 0.02, d - 0.02) for a in (0.02, w - 0.045)]
        boxes.append((0.045, w - 0.045, 0.3, h - top, 0.02, 0.04))  # modesty panel
    return boxes, w, d


def desk_things(rng: np.random.Generator, w: float, d: float, h: float) -> list[Piece]:
    """2-8 things standing on a desk top of w x d metres at height h, each a Piece of one box
    (a thing gets a material of its own): books and boxes, mugs and bottles, screens, flat
    devices; they do not overlap on the top, and those that do not fit are left out."""
    things, taken = [], []
    for _ in range(int(rng.integers(2, 9))):
        kind = rng.choice(4, p=[0.4, 0.3, 0.15, 0.15])
        if kind == 0:  # a book, a stack of paper, a box
            size = (rng.uniform(0.1, 0.35), rng.uniform(0.02, 0.15), rng.uniform(0.1, 0.3))
        elif kind == 1:  # a mug, a can, a bottle
            side = rng.uniform(0.06, 0.1)
            size = (side, rng.uniform(0.08, 0.28), side)
        elif kind == 2:  # a screen
            size = (rng.uniform(0.3, 0.6), rng.uniform(0.2, 0.4), rng.uniform(0.02, 0.05))
        else:  # a keyboard, a phone, a tray
            size = (rng.uniform(0.1, 0.45), rng.uniform(0.01, 0.04), rng.uniform(0.07, 0.2))
        sa, sy, sc = size
        if sa > w - 0.04 or sc > d - 0.04:
            continue
        a, c = rng.uniform(0.02, w - 0.02 - sa), rng.uniform(0.02, d - 0.02 - sc)
        if any(a < t[1] and t[0] < a + sa and c < t[3] and t[2] < c + sc for t in taken):
            continue
        taken.append((a, a + sa, c, c + sc))
        things.append([(a, a + sa, h, h + sy, c, c + sc)])
    return things


def chair(rng: np.random.Generator, ceiling: float) -> tuple[Piece, float, float]:
    """A seat on four legs with a back rest."""
    s, h = rng.uniform(0.42, 0.5), rng.uniform(0.42, 0.48)
    back = rng.uniform(0.35, 0.5)
    boxes: Piece = [(0.0, s, h - 0.05, h, 0.0, s), (0.0, s, h, h + back, 0.0, 0.04)]
    return boxes + _legs(s, s, h - 0.05, 0.03, 0.02), s, s


def cabinet(rng: np.random.Generator, ceiling: float) -> tuple[Piece, float, float]:
    """A cupboard, filing cabinet or wardrobe: one block on a plinth."""
    w, d = rng.uniform(0.4, 1.2), rng.uniform(0.4, 0.65)
    h = min(rng.uniform(0.7, 2.1), ceiling - 0.1)
    return [(0.02, w - 0.02, 0.0, 0.08, 0.0, d - 0.04), (0.0, w, 0.08, h, 0.0, d)], w, d


def shelf(rng: np.random.Generator, ceiling: float) -> tuple[Piece, float, float]:
    """An open bookcase: back, two sides, top, bottom and shelves between."""
    w, d = rng.uniform(0.7, 1.2), rng.uniform(0.28, 0.4)
    h = min(rng.uniform(1.6, 2.2), ceiling - 0.1)
    t = 0.02
    boxes: Piece = [(0.0, w, 0.0, h, 0.0, 0.01), (0.0, t, 0.0, h, 0.0, d), (w - t, w, 0.0, h, 0.0, d)]
    levels = int(rng.integers(3, 6))
    for k in range(levels):
        y = (h - t) * k / (levels - 1)
        boxes.append((t, w - t, y, y + t, 0.01, d))
    return boxes, w, d


def sofa(rng: np.random.Generator, ceiling: float) -> tuple[Piece, float, float]:
    """A sofa: base, seat, back rest and two arms."""
    w, d = rng.uniform(1.5, 2.3), rng.uniform(0.8, 0.95)
    arm, seat = rng.uniform(0.15, 0.25), rng.uniform(0.4, 0.46)
    back = rng.uniform(0.75, 0.9)
    return [(0.0, w, 0.0, 0.1, 0.03, d - 0.03), (arm, w - arm, 0.1, seat, 0.0, d),
            (arm, w - arm, 0.1, back, 0.0, 0.22), (0.0, arm, 0.1, 0.62, 0.0, d),
            (w - arm, w, 0.1, 0.62, 0.0, d)], w, d


def column(rng: np.random.Generator, ceiling: float) -> tuple[Piece, float, float]:
    """A square column from floor to ceiling."""
    s = rng.uniform(0.3, 0.6)
    return [(0.0, s, 0.0, ceiling, 0.0, s)], s, s


def partition(rng: np.random.Generator, ceiling: float) -> tuple[Piece, float, float]:
    """A wall jutting out of a side or the back wall, floor to ceiling: the room becomes an L or
    has an alcove."""
    t, length = rng.uniform(0.1, 0.25), rng.uniform(0.8, 2.5)
    return [(0.0, t, 0.0, ceiling, 0.0, length)], t, length


PIECES = {"desk": desk, "chair": chair, "cabinet": cabinet, "shelf": shelf, "sofa": sofa,
          "column": column, "partition": partition}
# How often each piece is drawn, and whether it backs onto a wall ("wall"), stands anywhere
# ("free") or either.
PIECE_WEIGHTS = {"desk": 3, "chair": 2, "cabinet": 3, "shelf": 2, "sofa": 1, "column": 1, "partition": 1}
PIECE_STANDS = {"desk": "either", "chair": "free", "cabinet": "wall", "shelf": "wall", "sofa": "wall",
                "column": "free", "partition": "wall"}
