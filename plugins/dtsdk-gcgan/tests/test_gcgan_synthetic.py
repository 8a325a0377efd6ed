"""The synthetic data generator: landmarks on the rendered face, expressions and people that differ."""
import dataclasses

import numpy as np
import pytest

from dtsdk.errors import DtsdkError
from dtsdk_gcgan.synthetic import EXPRESSION_NAMES, draw_identity, expression_weights, generate, render_person


def test_shapes_and_ranges(small_set):
    n = 4 * 8
    assert small_set.images.shape == (n, 64, 64, 3) and small_set.images.dtype == np.uint8
    assert small_set.landmarks.shape == (n, 68, 2) and small_set.landmarks.dtype == np.float32
    assert np.abs(small_set.landmarks).max() < 1.0  # the whole face is in the picture
    assert sorted(set(small_set.labels[:6])) == list(range(6))  # the prototypes come first
    assert list(np.unique(small_set.identities)) == [0, 1, 2, 3]


def _face_mask(person, weights, size):
    """Pixels the face covers: the ones that stay the same when only the background colour changes."""
    black, _ = render_person(dataclasses.replace(person, background=(0, 0, 0)), weights, size)
    white, points = render_person(dataclasses.replace(person, background=(255, 255, 255)), weights, size)
    return np.all(black == white, axis=-1), points  # (H, W) bool, (68, 2)


@pytest.mark.parametrize("identity_id", [0, 1, 2])
def test_landmarks_land_on_the_rendered_face(identity_id):
    size = 64
    person = draw_identity(identity_id)
    for label in range(len(EXPRESSION_NAMES)):
        mask, points = _face_mask(person, expression_weights(label), size)
        pixels = np.clip(((points + 1) / 2 * size).astype(int), 0, size - 1)  # (68, 2) x, y
        on_face = mask[pixels[:, 1], pixels[:, 0]]
        assert on_face.all(), f"{EXPRESSION_NAMES[label]}: landmarks {np.flatnonzero(~on_face)} fall off the face"
        # ...and they span most of the face: its box is not much wider than the landmarks' box.
        cols = np.nonzero(mask)[1]
        assert np.ptp(pixels[:, 0]) > 0.6 * np.ptp(cols)


def test_landmarks_scale_with_the_image_size():
    person = draw_identity(3)
    _, small = render_person(person, expression_weights(1), size=32)
    _, large = render_person(person, expression_weights(1), size=128)
    assert np.abs(small - large).max() < 0.02  # normalised coordinates do not depend on the resolution


def test_expressions_move_the_landmarks(small_set):
    person0 = small_set.landmarks[:6]  # the first person's six prototypes
    mouth_gap = np.linalg.norm(person0[:, 66] - person0[:, 62], axis=1)  # inner lips, lower vs upper middle
    assert mouth_gap[EXPRESSION_NAMES.index("open_mouth")] > 3 * mouth_gap[EXPRESSION_NAMES.index("neutral")] + 0.02
    smile, neutral = person0[EXPRESSION_NAMES.index("smile")], person0[EXPRESSION_NAMES.index("neutral")]
    assert np.linalg.norm(smile[54] - smile[48]) > np.linalg.norm(neutral[54] - neutral[48])  # wider mouth
    brows = slice(17, 27)
    surprise = person0[EXPRESSION_NAMES.index("surprise")]
    assert surprise[brows, 1].mean() < neutral[brows, 1].mean() - 0.01  # y points down: brows went up
    for a in range(6):
        for b in range(a + 1, 6):
            assert np.abs(person0[a] - person0[b]).max() > 0.01, (EXPRESSION_NAMES[a], EXPRESSION_NAMES[b])


def test_people_differ_and_repeat_with_the_seed(small_set):
    neutral = small_set.landmarks[::8]  # (4, 68, 2): each person's prototype neutral, shown first
    assert np.abs(neutral[0] - neutral[1]).max() > 0.01
    assert not np.array_equal(small_set.images[0], small_set.images[8])
    again = generate(1, 2, size=64, seed=0)
    assert np.array_equal(again.images, small_set.images[:2])
    assert np.array_equal(again.landmarks, small_set.landmarks[:2])


def test_bad_requests_are_one_line_errors():
    for call in (lambda: generate(0), lambda: generate(1, size=8), lambda: expression_weights(len(EXPRESSION_NAMES))):
        with pytest.raises(DtsdkError) as err:
            call()
        assert "\n" not in str(err.value)


def test_preview_grid_draws_every_sample_with_its_landmarks(small_set, tmp_path):
    from dtsdk_gcgan.preview import LANDMARK_COLOR, main, sample_grid

    grid = sample_grid(small_set, columns=8, scale=2)
    assert grid.shape == (4 * 128, 8 * 128, 3)
    assert (grid == LANDMARK_COLOR).all(-1).sum() > 68 * len(small_set)  # a plus sign per landmark
    main([str(tmp_path / "grid.png"), "--identities", "1", "--expressions", "2", "--size", "32"])
    assert (tmp_path / "grid.png").stat().st_size > 0


# ---- speech frames from a corpus: unlabelled samples ------------------------------------------
def test_speech_frames_from_a_corpus_are_rendered_unlabelled(tiny_corpus):
    from dtsdk.rigs.arkit import ARKIT52
    from dtsdk_gcgan.synthetic import UNLABELLED, corpus_frames

    frames = corpus_frames(tiny_corpus)  # (N, 52): every train frame
    assert frames.ndim == 2 and frames.shape[1] == 52 and len(frames) > 300
    assert frames[:, ARKIT52.index("jawOpen")].max() > 0.2  # speech opens the jaw
    data = generate(2, 6, size=32, speech_frames=frames, speech_per_identity=3)
    assert len(data) == 2 * 9
    labels = data.labels.reshape(2, 9)
    assert (labels[:, :6] == np.arange(6)).all() and (labels[:, 6:] == UNLABELLED).all()
    plain = generate(2, 6, size=32)
    assert np.array_equal(plain.images, data.images.reshape(2, 9, 32, 32, 3)[:, :6].reshape(-1, 32, 32, 3))


def test_speech_frames_need_a_corpus(tmp_path):
    from dtsdk_gcgan.train import PortraitRecipe, training_set

    with pytest.raises(DtsdkError, match="speech_per_identity needs speech frames"):
        generate(1, 1, size=32, speech_per_identity=2)
    recipe = PortraitRecipe.from_yaml("tiny")
    recipe.data.corpus_frames = 2
    with pytest.raises(DtsdkError, match="data.corpus_frames needs data.corpus"):
        training_set(recipe)
    recipe.data.corpus = str(tmp_path)
    with pytest.raises(DtsdkError, match="not a dtsdk corpus"):
        training_set(recipe)
