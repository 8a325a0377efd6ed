"""The ``vocaset`` and ``biwi`` capture readers on tiny datasets generated in the FaceFormer layout.

:func:`make_dataset` writes ``vertices_npy/<Subject>_<sentence>.npy`` with the real vertex counts
(a few frames), ``wav/<same>.wav`` sines at a real recording rate, and optionally
``templates.npz`` / ``templates/<Subject>.npy`` / ``faces.npy``. Frame ``t`` of every sequence is
the subject's template moved by ``t`` mm along x, so offsets in mm are known exactly.
"""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import soundfile as sf

from dtsdk.capture import CaptureWarning, find_capture_reader, read_captures
from dtsdk.capture.biwi import BIWI_READER
from dtsdk.capture.vocaset import VOCASET_READER
from dtsdk.errors import DtsdkError, FormatError
from dtsdk.rigs import Rig

VOCA_SUBJECTS = ("FaceTalk_170725_00137_TA", "FaceTalk_170904_00128_TA")
VOCA_V, BIWI_V = 5023, 23370


def face_template(num_vertices: int, seed: int) -> np.ndarray:
    """A face-sized point cloud ``(V, 3)`` in metres (about 18 cm across)."""
    return np.random.default_rng(seed).uniform(-0.09, 0.09, (num_vertices, 3)).astype(np.float32)


def write_wav(path, seconds: float, sample_rate: int) -> None:
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sample_rate, subtype="PCM_16")


def make_dataset(root, num_vertices: int, sequences: dict[str, int], source_fps: float, sample_rate: int,
                 templates: str | None = "npz", faces: bool = False, audio_extra_s: float = 0.0):
    """``sequences``: name -> frames on disk. Returns the subject templates in metres."""
    os.makedirs(root / "vertices_npy", exist_ok=True)
    os.makedirs(root / "wav", exist_ok=True)
    subjects = sorted({name.rsplit("_", 1)[0] for name in sequences})
    temps = {s: face_template(num_vertices, i) for i, s in enumerate(subjects)}
    for name, frames in sequences.items():
        template = temps[name.rsplit("_", 1)[0]]
        verts = np.repeat(template[None], frames, axis=0)  # (T, V, 3)
        verts[:, :, 0] += np.arange(frames, dtype=np.float32)[:, None] * 0.001  # t mm along x
        np.save(root / "vertices_npy" / f"{name}.npy", verts.reshape(frames, -1))
        write_wav(root / "wav" / f"{name}.wav", frames / source_fps + audio_extra_s, sample_rate)
    if templates == "npz":
        np.savez(root / "templates.npz", **temps)
    elif templates == "dir":
        os.makedirs(root / "templates", exist_ok=True)
        for s, t in temps.items():
            np.save(root / "templates" / f"{s}.npy", t.reshape(-1))  # flat (3V,) is accepted too
    if faces:
        np.save(root / "faces.npy", np.array([[0, 1, 2], [1, 3, 2]], dtype=np.int64))
    return temps


@pytest.fixture
def voca(tmp_path):
    root = tmp_path / "vocaset"
    seqs = {f"{s}_sentence{n:02d}": 10 for s in VOCA_SUBJECTS for n in (1, 2)}
    temps = make_dataset(root, VOCA_V, seqs, 60, 22050)
    return root, temps


def test_vocaset_clips_speakers_rate_and_offsets_in_mm(voca):
    root, temps = voca
    assert find_capture_reader(root) is VOCASET_READER
    clips = list(read_captures(root))
    assert [c.name for c in clips] == sorted(f"{s}_sentence{n:02d}" for s in VOCA_SUBJECTS for n in (1, 2))
    assert sorted({c.speaker for c in clips}) == sorted(VOCA_SUBJECTS)
    clip = clips[0]
    anim = clip.animation
    assert anim.fps == 30 and anim.num_frames == 5 and anim.rig == "flame-5023"
    assert anim.weights.shape == (5, 15069) and anim.names == ()
    assert clip.sample_rate == 16000
    assert abs(len(clip.audio) / 16000 - anim.duration_s) <= 1 / 30  # same span within a frame
    # every 2nd frame of the 60 fps arrays: frame j moved 2j mm along x from the template
    offsets = anim.weights.reshape(5, VOCA_V, 3)
    np.testing.assert_allclose(offsets[:, :, 0], np.repeat((2.0 * np.arange(5))[:, None], VOCA_V, 1), atol=1e-3)
    np.testing.assert_allclose(offsets[:, :, 1:], 0, atol=1e-3)
    np.testing.assert_allclose(clip.meta["template_mm"], temps[clip.speaker] * 1000, rtol=1e-6)
    assert clip.meta["template_source"] == "templates.npz" and clip.meta["rig"] is None
    assert clip.meta["keep_every"] == 2 and clip.meta["source_fps"] == 60


def test_vocaset_fps_override_keeps_every_frame(voca):
    root, _ = voca
    clip = next(read_captures(root, reader="vocaset", fps=60))
    assert clip.animation.fps == 60 and clip.animation.num_frames == 10
    with pytest.raises(DtsdkError, match="must divide"):
        next(read_captures(root, reader="vocaset", fps=25))


def test_arrays_already_at_30fps_need_source_fps_and_the_error_says_so(tmp_path):
    root = tmp_path / "v30"
    make_dataset(root, VOCA_V, {f"{VOCA_SUBJECTS[0]}_sentence01": 10}, 30, 16000)  # 10 frames over 1/3 s
    with pytest.raises(FormatError, match="source_fps=30"):
        next(read_captures(root))
    clip = next(read_captures(root, source_fps=30))
    assert clip.animation.fps == 30 and clip.animation.num_frames == 10


def test_templates_folder_and_faces_give_a_vertex_rig(tmp_path):
    root = tmp_path / "v"
    temps = make_dataset(root, VOCA_V, {f"{VOCA_SUBJECTS[0]}_sentence01": 6}, 60, 44100, templates="dir", faces=True)
    clip = next(read_captures(root))
    rig = clip.meta["rig"]
    assert isinstance(rig, Rig) and rig.kind == "vertex" and rig.name == "flame-5023"
    assert clip.meta["template_source"] == "templates/"
    verts_mm = clip.animation.to_vertices(rig)  # (T, V, 3)
    expected = temps[VOCA_SUBJECTS[0]][None] * 1000 + np.array([2.0, 0, 0]) * np.arange(3)[:, None, None]
    np.testing.assert_allclose(verts_mm, expected, atol=1e-2)


def test_templates_pkl_is_never_unpickled_and_first_frame_is_used(tmp_path):
    root = tmp_path / "v"
    make_dataset(root, VOCA_V, {f"{VOCA_SUBJECTS[0]}_sentence01": 6}, 60, 16000, templates=None)
    canary = tmp_path / "unpickled"

    class Trap:
        def __reduce__(self):
            return (open, (str(canary), "w"))

    with open(root / "templates.pkl", "wb") as f:
        pickle.dump({VOCA_SUBJECTS[0]: Trap()}, f)
    with pytest.warns(CaptureWarning, match="first frame.*np.savez\\('templates.npz'"):
        clip = next(read_captures(root))
    assert not canary.exists()
    assert clip.meta["template_source"] == "first frame"
    np.testing.assert_allclose(clip.animation.weights[0], 0, atol=1e-6)  # first frame is its own template
    np.testing.assert_allclose(clip.animation.weights[1].reshape(VOCA_V, 3)[:, 0], 2.0, atol=1e-3)


def test_biwi_is_recognised_and_read_at_25fps(tmp_path):
    root = tmp_path / "BIWI"
    temps = make_dataset(root, BIWI_V, {"F1_e01": 8, "M3_e37": 6}, 25, 44100)
    assert find_capture_reader(root) is BIWI_READER
    assert not VOCASET_READER.can_read(root)
    clips = list(read_captures(root))
    assert [(c.name, c.speaker) for c in clips] == [("F1_e01", "F1"), ("M3_e37", "M3")]
    anim = clips[0].animation
    assert anim.fps == 25 and anim.num_frames == 8 and anim.weights.shape == (8, 70110) and anim.rig == "biwi-23370"
    assert abs(len(clips[0].audio) / 16000 - 8 / 25) < 1e-3
    np.testing.assert_allclose(anim.weights.reshape(8, BIWI_V, 3)[:, :, 0].mean(axis=1), np.arange(8), atol=1e-3)
    np.testing.assert_allclose(clips[1].meta["template_mm"], temps["M3"] * 1000, rtol=1e-6)


def test_subjects_filter(voca):
    root, _ = voca
    clips = list(read_captures(root, subjects=[VOCA_SUBJECTS[1]]))
    assert {c.speaker for c in clips} == {VOCA_SUBJECTS[1]} and len(clips) == 2


# ---- lengths --------------------------------------------------------------------------------------


def _one_sequence(tmp_path, audio_extra_s, name="F2_e05"):
    root = tmp_path / "b"
    make_dataset(root, BIWI_V, {name: 5, "F2_e06": 5}, 25, 16000, audio_extra_s=0.0)
    write_wav(root / "wav" / f"{name}.wav", 5 / 25 + audio_extra_s, 16000)
    return root


def test_length_mismatch_is_an_error_naming_both_files(tmp_path):
    root = _one_sequence(tmp_path, 0.5)
    with pytest.raises(FormatError) as err:
        list(read_captures(root))
    assert "F2_e05.wav" in str(err.value) and "F2_e05.npy" in str(err.value) and "0.700 s" in str(err.value)


def test_length_mismatch_skip_and_trim(tmp_path):
    root = _one_sequence(tmp_path, 0.5)
    with pytest.warns(CaptureWarning, match="skipping.*F2_e05"):
        clips = list(read_captures(root, on_mismatch="skip"))
    assert [c.name for c in clips] == ["F2_e06"]
    with pytest.warns(CaptureWarning, match="trimming.*F2_e05"):
        clips = list(read_captures(root, on_mismatch="trim"))
    assert len(clips[0].audio) == 5 / 25 * 16000 and clips[0].meta["trimmed_audio_s"] == pytest.approx(0.5)


def test_small_mismatch_is_reconciled_and_recorded(tmp_path):
    root = _one_sequence(tmp_path, -0.08)  # audio 2 frames short of the motion
    clip = next(read_captures(root))
    assert clip.animation.num_frames == 3 and clip.meta["trimmed_frames"] == 2
    assert abs(len(clip.audio) / 16000 - clip.animation.duration_s) <= 1 / 25


# ---- missing pairs --------------------------------------------------------------------------------


def test_missing_partners_are_listed_in_a_warning_or_an_error(voca):
    root, _ = voca
    os.remove(root / "wav" / f"{VOCA_SUBJECTS[0]}_sentence02.wav")
    os.remove(root / "vertices_npy" / f"{VOCA_SUBJECTS[1]}_sentence01.npy")
    with pytest.warns(CaptureWarning) as record:
        clips = list(read_captures(root))
    message = str(record[0].message)
    assert f"{VOCA_SUBJECTS[0]}_sentence02.npy" in message and f"{VOCA_SUBJECTS[1]}_sentence01.wav" in message
    assert len(clips) == 2
    with pytest.raises(FormatError, match=f"{VOCA_SUBJECTS[0]}_sentence02.npy"):
        list(read_captures(root, on_missing="error"))


def test_no_pair_at_all_is_an_error(tmp_path):
    root = tmp_path / "v"
    make_dataset(root, VOCA_V, {f"{VOCA_SUBJECTS[0]}_sentence01": 4}, 60, 16000)
    os.remove(root / "wav" / f"{VOCA_SUBJECTS[0]}_sentence01.wav")
    with pytest.raises(FormatError, match="no complete pair"):
        list(read_captures(root, reader="vocaset"))


# ---- bad arrays ------------------------------------------------------------------------------------


def _replace_array(root, name, array):
    np.save(root / "vertices_npy" / f"{name}.npy", array)


@pytest.mark.parametrize("width, expected", [
    (15000, "5000 vertices per frame.*5023 vertices"),
    (15068, "15068 values per frame, not a multiple of 3"),
    (70110, "23370 vertices.*reader 'biwi'"),
])
def test_wrong_vertex_counts_name_the_file_and_the_counts(voca, width, expected):
    root, _ = voca
    name = f"{VOCA_SUBJECTS[0]}_sentence01"
    _replace_array(root, name, np.zeros((10, width), np.float32))
    with pytest.raises(FormatError, match=expected) as err:
        list(read_captures(root, reader="vocaset"))
    assert f"{name}.npy" in str(err.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_frames_name_the_first_bad_frame(voca, bad):
    root, temps = voca
    name = f"{VOCA_SUBJECTS[0]}_sentence01"
    verts = np.repeat(temps[VOCA_SUBJECTS[0]].reshape(1, -1), 10, axis=0)
    verts[3, 100] = bad
    verts[7, 5] = bad
    _replace_array(root, name, verts)
    with pytest.raises(FormatError, match=f"{name}.npy: frame 3 contains NaN or Inf"):
        list(read_captures(root))


def test_empty_array_is_an_error(voca):
    root, _ = voca
    name = f"{VOCA_SUBJECTS[0]}_sentence01"
    _replace_array(root, name, np.zeros((0, 15069), np.float32))
    with pytest.raises(FormatError, match=f"{name}.npy: contains no frames"):
        list(read_captures(root))


def test_object_arrays_and_pickles_are_dtsdk_errors(voca, tmp_path):
    root, _ = voca
    name = f"{VOCA_SUBJECTS[0]}_sentence01"
    np.save(root / "vertices_npy" / f"{name}.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(FormatError, match=f"{name}.npy: holds Python objects"):
        list(read_captures(root))
    canary = tmp_path / "unpickled"

    class Trap:
        def __reduce__(self):
            return (open, (str(canary), "w"))

    with open(root / "vertices_npy" / f"{name}.npy", "wb") as f:
        pickle.dump(Trap(), f)
    with pytest.raises(FormatError, match=f"{name}.npy"):
        list(read_captures(root, reader="vocaset"))
    assert not canary.exists()


def test_strings_and_bad_templates_are_errors(voca):
    root, temps = voca
    name = f"{VOCA_SUBJECTS[0]}_sentence01"
    _replace_array(root, name, np.full((10, 15069), "x"))
    with pytest.raises(FormatError, match=f"{name}.npy: holds <U1 values"):
        list(read_captures(root))
    np.savez(root / "templates.npz",
             **{VOCA_SUBJECTS[0]: np.zeros((100, 3)), VOCA_SUBJECTS[1]: temps[VOCA_SUBJECTS[1]]})
    with pytest.raises(FormatError, match=r"templates.npz\[FaceTalk_170725_00137_TA\]: template of shape \(100, 3\)"):
        list(read_captures(root))


def test_faces_out_of_range_is_an_error(voca):
    root, _ = voca
    np.save(root / "faces.npy", np.array([[0, 1, 5023]]))
    with pytest.raises(FormatError, match="faces.npy: faces index vertices 0..5023"):
        list(read_captures(root))


@pytest.mark.parametrize("templates", ["npz", None])
def test_implausible_units_warn(tmp_path, templates):
    root = tmp_path / "v"
    make_dataset(root, VOCA_V, {f"{VOCA_SUBJECTS[0]}_sentence01": 4}, 60, 16000, templates=templates)
    with pytest.warns(CaptureWarning) as record:  # without templates, also the first-frame warning
        next(read_captures(root, units="mm"))
    assert any("pass units=" in str(w.message) for w in record)


def test_files_in_mm_with_units_mm(tmp_path):
    root = tmp_path / "v"
    name = f"{VOCA_SUBJECTS[0]}_sentence01"
    temps = make_dataset(root, VOCA_V, {name: 4}, 60, 16000)
    verts = np.load(root / "vertices_npy" / f"{name}.npy") * 1000
    np.save(root / "vertices_npy" / f"{name}.npy", verts.reshape(4, VOCA_V, 3))  # (T, V, 3) is accepted
    np.savez(root / "templates.npz", **{k: v * 1000 for k, v in temps.items()})
    clip = next(read_captures(root, units="mm"))
    np.testing.assert_allclose(clip.animation.weights.reshape(2, VOCA_V, 3)[:, :, 0].mean(axis=1), [0, 2], atol=1e-3)


def test_empty_wav_names_the_file(voca):
    root, _ = voca
    name = f"{VOCA_SUBJECTS[0]}_sentence01"
    sf.write(root / "wav" / f"{name}.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(DtsdkError, match=f"{name}.wav"):
        list(read_captures(root))


# ---- choosing a reader -----------------------------------------------------------------------------


def test_unknown_layout_lists_the_readers(tmp_path):
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(FormatError, match="livelink.*vocaset.*biwi"):
        read_captures(tmp_path)


def test_unknown_option_is_named(voca):
    root, _ = voca
    with pytest.raises(DtsdkError, match="no option speed.*on_mismatch"):
        read_captures(root, speed=2)


def test_bad_policy_values(voca):
    root, _ = voca
    with pytest.raises(DtsdkError, match="on_mismatch must be one of"):
        next(read_captures(root, on_mismatch="pad"))
    with pytest.raises(DtsdkError, match="units must be one of"):
        next(read_captures(root, units="inch"))


def test_clips_feed_the_training_dataset(voca):
    from dtsdk.data import TalkingFaceDataset

    root, _ = voca
    ds = TalkingFaceDataset.from_captures(root, window_s=0.1)
    item = ds[0]
    assert item["motion"].shape[1] == 15069 and len(ds.speakers) == 2
