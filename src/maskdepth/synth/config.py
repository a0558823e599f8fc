"""Configuration of the scene engine: every random range and probability in one place.

Ranges are (low, high) pairs sampled uniformly. Angles in degrees, lengths in metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PHOTO_TEXTURES = ("rooms", "surfaces")  # the values of SceneConfig.photo_textures


@dataclass
class CaptureConfig:
    """What a real capture does between taking the background and taking the image."""

    noise_p: float = 0.5  # independent sensor noise on image and background
    noise_sigma: tuple[float, float] = (0.004, 0.03)  # std of the noise, in [0, 1] units
    jpeg_p: float = 0.3  # both photos JPEG-compressed
    jpeg_quality: tuple[int, int] = (50, 95)
    exposure_p: float = 0.5  # exposure / white balance / gamma change of the image
    gain: tuple[float, float] = (0.7, 1.3)
    white_balance: tuple[float, float] = (0.9, 1.1)  # per-channel factor
    gamma: tuple[float, float] = (0.8, 1.2)
    misalign_p: float = 0.3  # background taken from a slightly moved camera
    shift_px: float = 4.0  # max translation, pixels at 160 px (scaled with the image size)
    rotate_deg: float = 1.5  # max in-plane rotation
    shadow_p: float = 0.5  # the foreground casts a shadow on the floor (not part of the mask)
    shadow_strength: tuple[float, float] = (0.2, 0.55)  # fraction of light removed

    @staticmethod
    def clean() -> CaptureConfig:
        """No capture effects at all: the image equals the background outside the foreground."""
        return CaptureConfig(noise_p=0, jpeg_p=0, exposure_p=0, misalign_p=0, shadow_p=0)


@dataclass
class SceneConfig:
    """Random ranges of the procedural indoor scenes."""

    height: int = 160  # output size in pixels
    width: int = 160
    fov_deg: tuple[float, float] = (50.0, 85.0)  # horizontal field of view
    # Eye-level cameras (phones, webcams, robots, tripods) ...
    camera_height: tuple[float, float] = (0.9, 2.4)
    pitch_deg: tuple[float, float] = (0.0, 30.0)  # downward tilt
    yaw_deg: tuple[float, float] = (-30.0, 30.0)  # heading relative to the room's long axis
    # ... and, in this share of scenes, security and shop cameras mounted high in a front corner
    # of the room, looking down and diagonally into it.
    corner_p: float = 0.3
    corner_height: tuple[float, float] = (2.2, 3.5)
    corner_pitch_deg: tuple[float, float] = (15.0, 50.0)
    corner_yaw_deg: tuple[float, float] = (15.0, 50.0)  # away from the nearer side wall
    # Wide lenses (security cameras, conference rooms) with barrel distortion (synth/lens.py).
    wide_p: float = 0.2
    wide_fov_deg: tuple[float, float] = (85.0, 110.0)
    distortion: tuple[float, float] = (0.05, 0.3)  # k of r * (1 + k r^2) / (1 + k)
    # ... and, in this share (none unless a recipe asks), desk and video-call cameras: near
    # eye level of someone seated, facing a wall a metre or two away, often looking down at a
    # desk or table right in front of them (the scenes a webcam, a phone on a stand or a table
    # robot sees, with most depths under 1.5 m).
    close_p: float = 0.0
    close_height: tuple[float, float] = (0.8, 1.6)
    close_pitch_deg: tuple[float, float] = (0.0, 55.0)
    close_wall: tuple[float, float] = (0.9, 3.0)  # distance to the wall ahead
    close_desk_p: float = 0.7  # a desk or table stands right in front of the camera
    close_min_distance: float = 0.5  # nearest foreground distance for these cameras
    room_width: tuple[float, float] = (3.0, 10.0)
    room_depth: tuple[float, float] = (3.0, 11.0)
    room_height: tuple[float, float] = (2.4, 3.4)
    window_p: float = 0.5
    doorway_p: float = 0.4  # an opening in the back wall to a dimmer space behind it
    max_furniture: int = 5  # solid furniture pieces (desks, cabinets, shelves, ...), 0 .. this many
    desk_things_p: float = 0.0  # share of desks and tables with things on top (books, mugs, screens)
    max_foreground: int = 2  # objects per scene, at least one unless empty
    empty_p: float = 0.05  # scenes with no foreground at all (empty mask)
    person_p: float = 0.6  # a foreground object is a person (else furniture or a cut-out)
    cutout_p: float = 0.5  # with --foregrounds: a foreground object is a user cut-out
    max_clutter: int = 2  # static furniture present in both image and background
    min_distance: float = 1.0  # nearest foreground distance from the camera
    sprite_count: int = 160
    sprite_res: int = 96
    texture_count: int = 48
    texture_res: int = 64
    # With --textures: "rooms" tiles floors and walls with whole photos and large crops of them
    # (rooms in the wallpaper); "surfaces" with small crops only (photos/texture_crops).
    photo_textures: str = "rooms"
    photo_p: float = 0.5  # with --backgrounds: share of a batch composed over real photos
    capture: CaptureConfig = field(default_factory=CaptureConfig)
