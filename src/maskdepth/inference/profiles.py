"""The working sizes: at what size the network sees each kind of input, defined once.

The network runs at a working size (its longer side in pixels, never larger than the input, see
MaskDepth.working_size) and its outputs are brought back to the input's size. Photos and video
differ in what a frame may cost, so each has its own size; every command, the API, the web
app, `bench` and the evaluations read it from here.

    side = working_side(PHOTO)               # 320
    side = working_side(VIDEO, args.max_side)   # the user's --max-side, else video's
"""

from __future__ import annotations

from maskdepth.errors import UserError

PHOTO, VIDEO = "photo", "video"
PROFILES = {
    # A photo pair (predict --image/--images/--data, the API, the web page's photo form,
    # evaluate on datasets): one frame, so detail over speed.
    PHOTO: 320,
    # Every frame of a video, a webcam, the live page and evaluate on CDnet-layout footage.
    # Measured in docs/BENCHMARKS.md ("Video working size"): on the four real sequences of
    # ../shared/realvideo, 224-320 px raised small's mean F by at most 0.006 and lowered its
    # mean boundary F by 0.04-0.05 (more of people's reflections and shadows taken in; training
    # at those sizes did not mend it), and 640x480 video keeps 60 frames/s on 2 cores only at 160.
    VIDEO: 160,
}
# The sizes a live camera steps down through when the machine cannot keep up (pace.Pace).
LIVE_FALLBACK = (128, 96)
MIN_SIDE = 32  # no working size below this (the network's 5 halvings)


def working_side(profile: str, override: int | None = None) -> int:
    """The working size's longer side (px) for `profile` (PHOTO or VIDEO), or the caller's
    override (a command's --max-side) when given."""
    if profile not in PROFILES:
        raise UserError(f"unknown working-size profile {profile!r}; use one of {', '.join(PROFILES)}")
    return PROFILES[profile] if override is None else override
