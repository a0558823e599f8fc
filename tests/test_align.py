"""Background alignment: known camera motions and colour changes are undone, mismatch is scored."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskdepth.inference.align import align_background
from maskdepth.inference.colour_fit import fit_gain_bias
from maskdepth.inference.homography import warp_to_image
from maskdepth.inference.mismatch import MISMATCH_WARNING, mismatch_score

HEIGHT, WIDTH = 96, 128


def texture(seed: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """(H, W, 3) uint8 smooth random colour texture in ~30..220: structure at several scales, so
    that alignment is well posed everywhere."""
    rng = np.random.default_rng(seed)
    total = np.zeros((height, width, 3), np.float32)
    for sigma in (1.5, 4.0, 10.0):
        noise = cv2.GaussianBlur(rng.normal(size=(height, width, 3)).astype(np.float32), (0, 0),
                                 sigma)
        total += noise / noise.std()
    return np.clip(125 + 30 * total, 30, 220).astype(np.uint8)


def camera_motion(dx: float, dy: float, degrees: float) -> np.ndarray:
    """(3, 3) image->background homography: a rotation about the centre plus a shift (pixels)."""
    affine = cv2.getRotationMatrix2D((WIDTH / 2, HEIGHT / 2), degrees, 1.0)
    affine[:, 2] += (dx, dy)
    return np.vstack([affine, [0, 0, 1]])


def max_point_error(estimate: np.ndarray, truth: np.ndarray, margin: int = 8) -> float:
    """Largest distance (pixels) between where two homographies send a grid of interior points."""
    ys, xs = np.mgrid[margin:HEIGHT - margin:8j, margin:WIDTH - margin:8j]
    points = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    a, b = estimate @ points, truth @ points
    return float(np.linalg.norm(a[:2] / a[2] - b[:2] / b[2], axis=0).max())


def interior_error(a: np.ndarray, b: np.ndarray, margin: int = 8) -> float:
    """Mean absolute difference (0..255 units) away from the borders."""
    inner = (slice(margin, -margin), slice(margin, -margin))
    return float(np.abs(a[inner].astype(float) - b[inner]).mean())


def test_identical_inputs_give_identity_and_no_mismatch():
    image = texture(0)
    result = align_background(image, image.copy())
    assert result.converged
    np.testing.assert_allclose(result.homography, np.eye(3), atol=1e-3)
    np.testing.assert_allclose(result.gain, 1.0, atol=0.01)
    np.testing.assert_allclose(result.bias, 0.0, atol=1.0)
    assert result.mismatch < 0.02
    assert result.background.shape == image.shape and result.background.dtype == np.uint8
    assert np.abs(result.background.astype(int) - image).mean() < 0.5


@pytest.mark.parametrize("dx, dy, degrees", [(3, 2, 0.0), (-2.5, 3.5, 1.5)])
def test_recovers_known_shift_rotation_and_colour(dx, dy, degrees):
    background = texture(1)
    truth = camera_motion(dx, dy, degrees)
    image = cv2.warpPerspective(background, truth, (WIDTH, HEIGHT),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_REFLECT)
    gain, bias = np.array([1.1, 0.95, 0.85]), np.array([5.0, -3.0, 8.0])
    exposed = np.clip(background * gain + bias, 0, 255).round().astype(np.uint8)

    result = align_background(image, exposed)

    assert result.converged
    assert max_point_error(result.homography, truth) < 0.5
    # corrected = result.gain * exposed + result.bias undoes the exposure change
    np.testing.assert_allclose(result.gain, 1 / gain, rtol=0.03)
    np.testing.assert_allclose(result.bias, -bias / gain, atol=3.0)
    assert interior_error(result.background, image) < 2.0
    assert interior_error(exposed, image) > 10.0
    assert result.mismatch < 0.05


def test_foreground_does_not_pull_the_alignment():
    """A rendered scene with a person in front: the moved background matches the image outside
    the foreground far better after alignment, and the pair is not flagged."""
    torch = pytest.importorskip("torch")
    from maskdepth.synth import CaptureConfig, SceneConfig, SceneEngine

    # small sprite and texture banks (as in conftest.small_config): 1 s instead of 8 s
    engine = SceneEngine(SceneConfig(height=HEIGHT, width=WIDTH, sprite_count=16, sprite_res=32,
                                     texture_count=6, texture_res=16,
                                     capture=CaptureConfig.clean()), seed=0)
    batch = engine.render(1, seed=7)
    image, background = ((batch[key][0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
                         for key in ("image", "background"))
    outside = batch["mask"][0, 0].numpy() < 0.5
    assert 0.03 < 1 - outside.mean() < 0.5  # the scene does have a foreground
    truth = camera_motion(3, 2, 1.0)
    moved = cv2.warpPerspective(background, np.linalg.inv(truth), (WIDTH, HEIGHT),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_REFLECT)

    result = align_background(image, moved)

    before = np.abs(moved.astype(float) - image)[outside].mean()
    after = np.abs(result.background.astype(float) - image)[outside].mean()
    assert after < before / 3
    assert max_point_error(result.homography, truth, margin=16) < 1.0
    assert result.mismatch < 0.35 < MISMATCH_WARNING


def test_unrelated_background_is_flagged():
    image = texture(2)
    result = align_background(image, texture(3))
    assert result.mismatch > MISMATCH_WARNING
    assert mismatch_score(image, texture(4)) > MISMATCH_WARNING


def test_background_of_another_size_is_resized_first():
    image = texture(5)
    larger = cv2.resize(image, (2 * WIDTH, 2 * HEIGHT), interpolation=cv2.INTER_CUBIC)
    result = align_background(image, larger)
    assert result.background.shape == image.shape
    assert max_point_error(result.homography, np.eye(3)) < 0.3
    assert interior_error(result.background, image) < 2.0


def test_flat_photos_fall_back_to_identity_and_fit_the_brightness():
    image = np.full((HEIGHT, WIDTH, 3), 120, np.uint8)
    background = np.full((HEIGHT, WIDTH, 3), 100, np.uint8)
    result = align_background(image, background)
    np.testing.assert_allclose(result.homography, np.eye(3), atol=1e-3)
    np.testing.assert_array_equal(result.background, image)
    assert result.mismatch == 0.0


def test_fit_gain_bias_ignores_a_foreground():
    rng = np.random.default_rng(0)
    warped = rng.integers(20, 200, (40, 50, 3)).astype(np.uint8)
    image = np.clip(warped * 1.2 - 10, 0, 255).round().astype(np.uint8)
    image[:15] = rng.integers(0, 255, (15, 50, 3))  # 30 % foreground
    gain, bias = fit_gain_bias(image, warped, np.ones((40, 50), bool))
    np.testing.assert_allclose(gain, 1.2, rtol=0.01)
    np.testing.assert_allclose(bias, -10, atol=1.0)


def test_warp_to_image_follows_the_documented_direction():
    """background_aligned(x) = background(homography @ x): a shift of +2 px in x reads the
    background two columns to the right."""
    background = texture(6)
    shifted = warp_to_image(background, camera_motion(2, 0, 0.0))
    np.testing.assert_array_equal(shifted[:, :-2], background[:, 2:])


def test_bad_inputs_raise():
    image = texture(7)
    with pytest.raises(ValueError, match="uint8"):
        align_background(image.astype(np.float32), image)
    with pytest.raises(ValueError, match="differ in size"):
        mismatch_score(image, image[:50])


def test_an_aligned_pair_with_its_own_sensor_noise_is_left_as_it_was_taken():
    """Two shots of one scene from a camera that did not move, each with its own noise: the
    fitted warp and colour fit would only resample noise, so the photo comes back untouched."""
    rng = np.random.default_rng(3)
    scene = texture(5).astype(np.float32)
    image, background = (np.clip(scene + rng.normal(0, 3, scene.shape), 0, 255).astype(np.uint8)
                         for _ in range(2))
    image[30:70, 40:80] = (20, 25, 30)  # someone in front
    result = align_background(image, background)
    assert np.array_equal(result.background, background)
    assert np.array_equal(result.homography, np.eye(3))
    assert np.array_equal(result.gain, np.ones(3)) and np.array_equal(result.bias, np.zeros(3))


def test_a_moved_camera_or_a_new_exposure_is_still_corrected():
    scene = texture(6)
    moved = warp_to_image(scene, np.linalg.inv(camera_motion(3, -2, 0.5)))
    result = align_background(scene, moved)
    assert not np.array_equal(result.homography, np.eye(3))
    assert interior_error(result.background, scene) < 0.5 * interior_error(moved, scene)
    darker = np.clip(scene * 0.7 + 10, 0, 255).astype(np.uint8)
    exposed = align_background(scene, darker)
    assert not np.array_equal(exposed.gain, np.ones(3))
    assert interior_error(exposed.background, scene) < 0.3 * interior_error(darker, scene)


def test_a_foreground_covering_most_of_the_image_does_not_recolour_the_background():
    """The robust colour fit assumes the foreground covers under half of the image; when a
    flat one covers 70 %, the fit follows it (gains at the clamp), and such a fit is refused."""
    background = texture(8)
    image = background.copy()
    image[:, : int(0.7 * WIDTH)] = (200, 150, 90)
    result = align_background(image, background)
    assert np.array_equal(result.background, background)
    assert np.array_equal(result.gain, np.ones(3))
