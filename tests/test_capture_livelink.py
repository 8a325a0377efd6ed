"""The ``livelink`` capture reader on takes generated in the documented layouts.

:func:`make_take` writes a Live Link Face CSV with dtsdk's own ``llf-csv`` exporter (the app's
63-column header, wall-clock timecode starting at ``start_s`` after midnight) and a WAV whose
click marks a chosen instant, so alignment can be checked sample-exactly.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile as sf

from dtsdk.animation import Animation
from dtsdk.capture import CaptureWarning, find_capture_reader, read_captures
from dtsdk.capture.livelink import LIVELINK_READER
from dtsdk.errors import FormatError
from dtsdk.io.llf_csv import LLF_CSV
from dtsdk.rigs.arkit import arkit_index

JAW = arkit_index("jawOpen")
START_S = 10 * 3600 + 0.5  # 10:00:00:30 at 60 fps


def ramp_animation(frames: int, fps: float) -> Animation:
    """jawOpen = frame / frames (a ramp, so every frame is identifiable), head yaw a slow turn."""
    anim = Animation.zeros(frames, fps)
    anim.weights[:, JAW] = np.arange(frames) / frames
    anim.head_pose = np.zeros((frames, 3), np.float32)
    anim.head_pose[:, 0] = np.linspace(0, 0.1, frames)
    return anim


def write_click_wav(path, seconds: float, sample_rate: int, click_s: float | None = None) -> None:
    """Low noise with one click at ``click_s`` (seconds from the first sample)."""
    audio = np.random.default_rng(0).normal(0, 0.01, int(round(seconds * sample_rate))).astype(np.float32)
    if click_s is not None:
        audio[int(round(click_s * sample_rate))] = 0.9
    sf.write(path, audio, sample_rate, subtype="FLOAT")


def make_take(folder, name: str, frames: int = 60, fps: int = 60, sample_rate: int = 44100,
              audio_s: float | None = None, click_s: float | None = None, csv_name: str | None = None,
              start_s: float = START_S):
    """``folder/<csv_name or name>.csv`` + ``folder/<name>.wav``; audio as long as the motion by default."""
    os.makedirs(folder, exist_ok=True)
    LLF_CSV.write(ramp_animation(frames, fps), folder / f"{csv_name or name}.csv", fps=fps, start_s=start_s)
    write_click_wav(folder / f"{name}.wav", frames / fps if audio_s is None else audio_s, sample_rate, click_s)


def click_index(audio: np.ndarray) -> int:
    return int(np.argmax(np.abs(audio)))


def test_side_by_side_takes(tmp_path):
    root = tmp_path / "alice"
    make_take(root, "take1", frames=60)
    make_take(root, "take2", frames=30, sample_rate=22050)
    assert find_capture_reader(root) is LIVELINK_READER
    clips = list(read_captures(root))
    assert [c.name for c in clips] == ["take1", "take2"]
    assert {c.speaker for c in clips} == {"alice"}  # the root folder's name
    clip = clips[0]
    anim = clip.animation
    assert anim.fps == 60 and anim.num_frames == 60 and anim.rig == "arkit52" and anim.head_pose is not None
    np.testing.assert_allclose(anim.weights[:, JAW], np.arange(60) / 60, atol=1e-6)
    assert clip.sample_rate == 16000 and abs(len(clip.audio) - 16000) <= 1
    assert clip.meta["start_timecode"] == "10:00:00:30.000" and clip.meta["alignment"] == "first frame"
    assert clips[1].animation.num_frames == 30 and abs(len(clips[1].audio) - 8000) <= 1


def test_take_folders_like_the_app_writes(tmp_path):
    root = tmp_path / "captures"
    take = root / "20240101_Slate_3"
    make_take(take, "Slate_3", frames=30, fps=30, csv_name="Slate_3_iPhone")
    (take / "frame_log.csv").write_text("Video Frame,Timecode\n0,10:00:00:30.000\n")
    (take / "take.json").write_text("{}")
    (take / "Slate_3_iPhone.mov").write_bytes(b"not a movie")
    (root / "notes").mkdir()  # a folder with no take is ignored
    clips = list(read_captures(root, speaker="bob"))
    assert len(clips) == 1
    clip = clips[0]
    assert clip.name == "20240101_Slate_3" and clip.speaker == "bob"
    assert clip.animation.fps == 30 and clip.animation.num_frames == 30
    assert clip.meta["motion_file"].endswith("Slate_3_iPhone.csv")


def test_a_single_csv_path(tmp_path):
    make_take(tmp_path / "s", "solo", frames=20)
    clips = list(read_captures(tmp_path / "s" / "solo.csv"))
    assert [c.name for c in clips] == ["solo"] and clips[0].speaker == "s"


def test_sidecar_audio_starting_before_the_motion(tmp_path):
    root = tmp_path / "r"
    # The audio starts 0.5 s before the first frame; its click sits exactly on the first frame.
    make_take(root, "t", frames=60, audio_s=1.5, click_s=0.5)
    (root / "t.align.json").write_text(json.dumps({"audio_start_timecode": "10:00:00:00"}))
    clip = next(read_captures(root))
    assert clip.meta["audio_offset_s"] == pytest.approx(-0.5) and clip.meta["alignment"] == "sidecar"
    assert abs(click_index(clip.audio)) <= 2
    assert clip.animation.num_frames == 60 and abs(len(clip.audio) - 16000) <= 1


def test_sidecar_audio_starting_after_the_motion(tmp_path):
    root = tmp_path / "r"
    # Audio starts 0.255 s after the first frame (between frames 15 and 16 at 60 fps); the click sits
    # on frame 20 (0.3333 s after the first frame).
    make_take(root, "t", frames=60, audio_s=1 - 0.255, click_s=20 / 60 - 0.255)
    (root / "t.align.json").write_text(json.dumps({"audio_offset_s": 0.255, "speaker": "carol"}))
    clip = next(read_captures(root, speaker="ignored"))
    assert clip.speaker == "carol" and clip.meta["dropped_leading_frames"] == 16
    anim = clip.animation
    np.testing.assert_allclose(anim.weights[0, JAW], 16 / 60, atol=1e-6)  # frame 16 of the file comes first
    assert abs(click_index(clip.audio) - round(4 / 60 * 16000)) <= 2  # frame 20 is frame 4 of the clip
    assert abs(len(clip.audio) / 16000 - anim.duration_s) <= 1 / 60


def test_sidecar_across_midnight(tmp_path):
    root = tmp_path / "r"
    make_take(root, "t", frames=60, audio_s=1.25, click_s=0.25, start_s=0.0)  # motion at 00:00:00:00
    (root / "t.align.json").write_text(json.dumps({"audio_start_timecode": "23:59:59:45"}))
    clip = next(read_captures(root))
    assert clip.meta["audio_offset_s"] == pytest.approx(-0.25)
    assert abs(click_index(clip.audio)) <= 2


@pytest.mark.parametrize("content, message", [
    ("{not json", "not readable JSON"),
    ('{"audio_offset_s": 0.1, "audio_start_timecode": "10:00:00:00"}', "not both"),
    ('{"audio_offset_s": "late"}', "must be a number"),
    ('{"offset": 1}', "unknown key"),
    ('{"audio_start_timecode": "ten o\'clock"}', "not a timecode"),
])
def test_bad_sidecars_name_the_file(tmp_path, content, message):
    root = tmp_path / "r"
    make_take(root, "t", frames=10)
    (root / "t.align.json").write_text(content)
    with pytest.raises(FormatError, match=message) as err:
        list(read_captures(root))
    assert "t.align.json" in str(err.value)


def test_audio_starting_after_the_last_frame_is_an_error(tmp_path):
    root = tmp_path / "r"
    make_take(root, "t", frames=10)
    (root / "t.align.json").write_text(json.dumps({"audio_offset_s": 5.0}))
    with pytest.raises(FormatError, match="after its last frame"):
        list(read_captures(root))


def test_length_mismatch_error_skip_trim(tmp_path):
    root = tmp_path / "r"
    make_take(root, "long_audio", frames=60, audio_s=1.5)
    make_take(root, "ok", frames=60)
    with pytest.raises(FormatError) as err:
        list(read_captures(root))
    assert "long_audio.wav" in str(err.value) and "long_audio.csv" in str(err.value)
    with pytest.warns(CaptureWarning, match="skipping.*long_audio"):
        assert [c.name for c in read_captures(root, on_mismatch="skip")] == ["ok"]
    with pytest.warns(CaptureWarning, match="trimming"):
        clip = next(read_captures(root, on_mismatch="trim"))
    assert abs(len(clip.audio) - 16000) <= 1 and clip.meta["trimmed_audio_s"] == pytest.approx(0.5, abs=1e-3)


def test_missing_wav_or_csv_is_listed(tmp_path):
    root = tmp_path / "r"
    make_take(root, "good", frames=10)
    make_take(root, "no_audio", frames=10)
    os.remove(root / "no_audio.wav")
    write_click_wav(root / "orphan.wav", 0.5, 16000)
    make_take(root / "folder_take", "x", frames=10)
    os.remove(root / "folder_take" / "x.wav")
    with pytest.warns(CaptureWarning) as record:
        clips = list(read_captures(root))
    message = str(record[0].message)
    assert "no_audio.csv" in message and "orphan.wav" in message and os.path.join("folder_take", "x.csv") in message
    assert [c.name for c in clips] == ["good"]
    with pytest.raises(FormatError, match="no_audio.csv"):
        list(read_captures(root, on_missing="error"))


def test_ambiguous_take_folder(tmp_path):
    take = tmp_path / "r" / "take"
    make_take(take, "a", frames=10)
    make_take(take, "b", frames=10)
    with pytest.raises(FormatError, match="2 Live Link Face CSVs"):
        list(read_captures(tmp_path / "r"))


def test_not_live_link_face(tmp_path):
    (tmp_path / "plain.csv").write_text("jawOpen,mouthClose\n0.1,0.2\n")
    assert not LIVELINK_READER.can_read(tmp_path)
    with pytest.raises(FormatError, match="not a Live Link Face CSV"):
        list(read_captures(tmp_path / "plain.csv", reader="livelink"))


def test_bad_csv_errors_name_the_file(tmp_path):
    root = tmp_path / "r"
    make_take(root, "t", frames=10)
    lines = (root / "t.csv").read_text().splitlines()
    cells = lines[3].split(",")
    cells[5] = "nan"
    lines[3] = ",".join(cells)
    (root / "t.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match="t.csv: line 4"):
        list(read_captures(root))
