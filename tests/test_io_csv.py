"""Live Link Face CSV (``llf-csv``, owns ``.csv``) and the plain ``csv`` table."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from dtsdk.animation import Animation
from dtsdk.errors import ExportError, FormatError
from dtsdk.io import get_exporter
from dtsdk.io.llf_csv import BLEND_SHAPE_COUNT, LLF_HEADER, LLF_SHAPES
from dtsdk.rigs.arkit import ARKIT52

DATA = Path(__file__).parent / "data" / "io"
# Hand-made files below are short or partial on purpose; their warnings are checked where they matter.
pytestmark = pytest.mark.filterwarnings("ignore:.*(ambiguous|column\\(s\\) missing):UserWarning")

# The header the Live Link Face app writes (JRicardoSan/blender_livelinkface; formats.md).
EXPECTED_LLF_HEADER = (
    "Timecode,BlendShapeCount,EyeBlinkLeft,EyeLookDownLeft,EyeLookInLeft,EyeLookOutLeft,EyeLookUpLeft,"
    "EyeSquintLeft,EyeWideLeft,EyeBlinkRight,EyeLookDownRight,EyeLookInRight,EyeLookOutRight,EyeLookUpRight,"
    "EyeSquintRight,EyeWideRight,JawForward,JawRight,JawLeft,JawOpen,MouthClose,MouthFunnel,MouthPucker,"
    "MouthRight,MouthLeft,MouthSmileLeft,MouthSmileRight,MouthFrownLeft,MouthFrownRight,MouthDimpleLeft,"
    "MouthDimpleRight,MouthStretchLeft,MouthStretchRight,MouthRollLower,MouthRollUpper,MouthShrugLower,"
    "MouthShrugUpper,MouthPressLeft,MouthPressRight,MouthLowerDownLeft,MouthLowerDownRight,MouthUpperUpLeft,"
    "MouthUpperUpRight,BrowDownLeft,BrowDownRight,BrowInnerUp,BrowOuterUpLeft,BrowOuterUpRight,CheekPuff,"
    "CheekSquintLeft,CheekSquintRight,NoseSneerLeft,NoseSneerRight,TongueOut,HeadYaw,HeadPitch,HeadRoll,"
    "LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll"
)


def smooth_arkit(frames=60, fps=60.0, head=True, seed=0) -> Animation:
    """Smooth motion, so resampling between rates is nearly lossless."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / fps
    weights = 0.5 + 0.45 * np.sin(2 * np.pi * (0.5 * t + rng.random((1, 52))))
    pose = 0.2 * np.sin(2 * np.pi * (0.3 * t + rng.random((1, 3)))) if head else None
    return Animation(weights, ARKIT52, fps, head_pose=pose)


def write_llf_like(path: Path, header: list[str], timecodes: list[str], values: np.ndarray) -> None:
    lines = [",".join(header)]
    for tc, row in zip(timecodes, values):
        lines.append(",".join([tc, str(BLEND_SHAPE_COUNT)] + [f"{v:.6f}" for v in row]))
    path.write_text("\n".join(lines) + "\n")


def timecodes(n: int, rate: int, start_frame: int = 0) -> list[str]:
    out = []
    for i in range(start_frame, start_frame + n):
        s, f = divmod(i, rate)
        out.append(f"10:00:{s:02d}:{f:02d}.000")
    return out


# ---- writing ------------------------------------------------------------------------------------
def test_llf_header_is_exact(tmp_path):
    path = tmp_path / "take.csv"
    smooth_arkit().save(path)
    lines = path.read_text().splitlines()
    assert lines[0] == EXPECTED_LLF_HEADER == ",".join(LLF_HEADER)
    assert len(lines[0].split(",")) == 63
    first = lines[1].split(",")
    assert len(first) == 63 and first[1] == "61"
    assert re.fullmatch(r"\d\d:\d\d:\d\d:\d\d\.\d{3}", first[0])


def test_llf_default_rate_is_60_with_timecode_frames(tmp_path):
    path = tmp_path / "take.csv"
    smooth_arkit(frames=45, fps=30.0).save(path)  # 1.5 s at 30 fps -> 90 rows at 60 fps
    rows = path.read_text().splitlines()[1:]
    assert len(rows) == 90
    codes = [r.split(",")[0] for r in rows]
    assert codes[0] == "00:00:00:00.000" and codes[59] == "00:00:00:59.000" and codes[60] == "00:00:01:00.000"


def test_llf_fps_and_start_options(tmp_path):
    path = tmp_path / "take.csv"
    smooth_arkit(frames=60, fps=60.0).save(path, fps=30, start_s=3600.5)
    rows = path.read_text().splitlines()[1:]
    assert len(rows) == 30 and rows[0].startswith("01:00:00:15.000,61,")
    with pytest.raises(ExportError, match="whole positive frame rate"):
        smooth_arkit().save(tmp_path / "x.csv", fps=29.97)


def test_llf_clips_and_rounds_weights(tmp_path):
    anim = Animation(np.full((2, 52), 1.7), ARKIT52, 60)
    anim.weights[:, 17] = -0.3
    anim.weights[:, 0] = 0.12345678
    path = tmp_path / "c.csv"
    anim.save(path)
    cells = path.read_text().splitlines()[1].split(",")
    assert cells[2] == "0.123457"  # EyeBlinkLeft, 6 decimals
    assert cells[2 + LLF_SHAPES.index("JawOpen")] == "0.000000"
    assert cells[2 + LLF_SHAPES.index("TongueOut")] == "1.000000"


def test_llf_swapped_columns_hold_the_right_shapes(tmp_path):
    anim = Animation.zeros(3, fps=60)
    anim.weights[:, ARKIT52.index("jawLeft")] = 0.25
    anim.weights[:, ARKIT52.index("mouthRight")] = 0.75
    path = tmp_path / "s.csv"
    anim.save(path)
    cells = path.read_text().splitlines()[1].split(",")
    assert float(cells[LLF_HEADER.index("JawLeft")]) == 0.25
    assert float(cells[LLF_HEADER.index("JawRight")]) == 0.0
    assert float(cells[LLF_HEADER.index("MouthRight")]) == 0.75


def test_llf_eye_rotations_follow_gaze(tmp_path):
    anim = Animation.zeros(2, fps=60)
    anim.weights[:, ARKIT52.index("eyeLookOutLeft")] = 1.0  # both eyes look to the subject's left
    anim.weights[:, ARKIT52.index("eyeLookInRight")] = 1.0
    anim.weights[:, ARKIT52.index("eyeLookDownLeft")] = 0.5
    path = tmp_path / "e.csv"
    anim.save(path)
    cells = path.read_text().splitlines()[1].split(",")
    col = {n: float(cells[i]) for i, n in enumerate(LLF_HEADER) if i >= 2}
    assert col["LeftEyeYaw"] == pytest.approx(np.deg2rad(30), abs=1e-6)
    assert col["RightEyeYaw"] == pytest.approx(np.deg2rad(30), abs=1e-6)
    assert col["LeftEyePitch"] == pytest.approx(0.5 * np.deg2rad(25), abs=1e-6)
    assert col["LeftEyeRoll"] == 0.0
    anim.save(path, eye_rotations="zeros")
    cells = path.read_text().splitlines()[1].split(",")
    assert all(float(c) == 0.0 for c in cells[-6:])


def test_llf_rejects_vertex_and_unnamed_animations(tmp_path):
    with pytest.raises(ExportError, match="per-vertex motion"):
        Animation(np.zeros((3, 12)), (), 30, rig="tetra-vertex").save(tmp_path / "v.csv")
    with pytest.raises(ExportError, match="none of the 2 channels"):
        Animation(np.zeros((3, 2)), ("smile", "frown"), 30, rig="custom").save(tmp_path / "c.csv")
    assert not list(tmp_path.iterdir())


def test_llf_warns_about_dropped_non_arkit_channels(tmp_path):
    anim = Animation(np.full((3, 2), 0.5), ("jawOpen", "myCustomShape"), 60, rig="custom")
    with pytest.warns(UserWarning, match="myCustomShape"):
        anim.save(tmp_path / "c.csv")
    back = Animation.load(tmp_path / "c.csv")
    assert back.weights[0, ARKIT52.index("jawOpen")] == pytest.approx(0.5)


# ---- round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize("fps", [60, 30])
def test_llf_round_trip(tmp_path, fps):
    anim = smooth_arkit(frames=int(1.5 * fps), fps=float(fps))
    path = tmp_path / "rt.csv"
    anim.save(path, fps=fps)
    back = Animation.load(path)
    assert back.fps == fps and back.num_frames == anim.num_frames and back.rig == "arkit52"
    np.testing.assert_allclose(back.weights, anim.weights, atol=5.1e-7)
    np.testing.assert_allclose(back.head_pose, anim.head_pose, atol=5.1e-7)
    assert back.meta["dropped_frames"] == 0 and back.meta["duplicate_frames"] == 0


def test_llf_resamples_to_export_rate(tmp_path):
    anim = smooth_arkit(frames=50, fps=25.0)
    anim.save(tmp_path / "r.csv")
    back = Animation.load(tmp_path / "r.csv")
    assert back.fps == 60 and back.num_frames == 120
    np.testing.assert_allclose(back.resample(25).weights[:-1], anim.weights[:-1], atol=0.02)


# ---- reading -----------------------------------------------------------------------------------
def test_llf_reads_app_recording_fixture():
    back = Animation.load(DATA / "llf_60fps.csv")
    assert back.fps == 60 and back.num_frames == 7
    assert back.meta["start_timecode"] == "14:12:33:56.312"
    np.testing.assert_allclose(back.weights[:, ARKIT52.index("jawOpen")], 0.1 * np.arange(7), atol=1e-6)
    np.testing.assert_allclose(back.weights[:, ARKIT52.index("jawRight")], 0.05)
    assert back.weights[:, ARKIT52.index("jawLeft")].max() == 0
    np.testing.assert_allclose(back.head_pose[:, 0], 0.01 * np.arange(7), atol=1e-6)


def test_llf_reads_apple_column_order(tmp_path):
    rng = np.random.default_rng(3)
    values = rng.random((40, 52)).round(6)
    header = ["Timecode", "BlendShapeCount"] + list(ARKIT52)  # camelCase, Apple's order, no rotations
    write_llf_like(tmp_path / "apple.csv", header, timecodes(40, 30, start_frame=10), values)
    back = Animation.load(tmp_path / "apple.csv")
    assert back.fps == 30 and back.head_pose is None
    np.testing.assert_allclose(back.weights, values, atol=1e-6)


def test_llf_reads_shuffled_columns_with_missing_and_extra(tmp_path):
    rng = np.random.default_rng(4)
    names = [n for n in LLF_SHAPES if n != "TongueOut"] + ["HeadYaw", "HeadRoll", "Confidence"]
    order = rng.permutation(len(names))
    values = rng.random((70, len(names))).round(6)
    header = ["BlendShapeCount"] + [names[i].upper() for i in order] + ["Timecode"]
    lines = [",".join(header)]
    for tc, row in zip(timecodes(70, 60), values):
        lines.append(",".join(["61"] + [f"{row[i]:.6f}" for i in order] + [tc]))
    (tmp_path / "mixed.csv").write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning) as record:
        back = Animation.load(tmp_path / "mixed.csv")
    messages = " ".join(str(w.message) for w in record)
    assert "tongueOut" in messages and "CONFIDENCE" in messages
    assert back.fps == 60
    for j, name in enumerate(names[:51]):
        np.testing.assert_allclose(back.weights[:, ARKIT52.index(name[0].lower() + name[1:])], values[:, j],
                                   atol=1e-6)
    assert back.weights[:, ARKIT52.index("tongueOut")].max() == 0
    np.testing.assert_allclose(back.head_pose[:, 0], values[:, 51], atol=1e-6)
    assert back.head_pose[:, 1].max() == 0  # HeadPitch missing
    np.testing.assert_allclose(back.head_pose[:, 2], values[:, 52], atol=1e-6)


def test_llf_repairs_dropped_and_duplicated_frames(tmp_path):
    codes = timecodes(70, 60)
    values = np.tile(np.linspace(0, 1, 70)[:, None], (1, 52)).round(6)
    keep = [i for i in range(70) if i not in (20, 21, 50)]  # two dropped runs: 2 frames + 1 frame
    rows_tc = [codes[i] for i in keep]
    rows_val = values[keep]
    rows_tc.insert(5, rows_tc[4])  # one duplicated row
    rows_val = np.insert(rows_val, 5, rows_val[4], axis=0)
    write_llf_like(tmp_path / "gaps.csv", list(LLF_HEADER[:54]), rows_tc, rows_val)
    with pytest.warns(UserWarning, match="1 duplicated row.*3 missing frame"):
        back = Animation.load(tmp_path / "gaps.csv")
    assert back.num_frames == 70 and back.fps == 60
    assert back.meta["dropped_frames"] == 3 and back.meta["duplicate_frames"] == 1
    np.testing.assert_allclose(back.weights, values, atol=1e-5)  # linear data: interpolation is exact


def test_llf_60hz_rows_under_30fps_timecode(tmp_path):
    codes = [f"00:00:{i // 60:02d}:{(i % 60) // 2:02d}.{500 if i % 2 else 0:03d}" for i in range(130)]
    values = np.random.default_rng(5).random((130, 52)).round(6)
    write_llf_like(tmp_path / "half.csv", list(LLF_HEADER[:54]), codes, values)
    back = Animation.load(tmp_path / "half.csv")
    assert back.meta["timecode_rate"] == 30 and back.fps == 60 and back.num_frames == 130


def test_llf_short_clip_rate_and_override(tmp_path):
    write_llf_like(tmp_path / "short.csv", list(LLF_HEADER[:54]), timecodes(10, 30), np.zeros((10, 52)))
    with pytest.warns(UserWarning, match="ambiguous"):
        assert Animation.load(tmp_path / "short.csv").fps == 60
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Animation.load(tmp_path / "short.csv", fps=30).fps == 30


@pytest.mark.parametrize("body, problem", [
    ("00:00:00:00.000,61,0.1\n00:00:00:01.000,61,abc\n", r"line 3: column 'JawOpen' holds 'abc'"),
    ("00:00:00:00.000,61,0.1\n00:00:00:01.000,61\n", r"line 3: 2 values, but the header has 3"),
    ("00:00:00:00.000,61,0.1\nnot-a-time,61,0.2\n", r"line 3: 'not-a-time' is not a timecode"),
    ("00:00:00:05.000,61,0.1\n00:00:00:04.000,61,0.2\n", r"line 3: timecode goes back in time"),
    ("", r"no data rows"),
])
def test_llf_malformed_names_file_and_line(tmp_path, body, problem):
    path = tmp_path / "bad.csv"
    path.write_text("Timecode,BlendShapeCount,JawOpen\n" + body)
    with pytest.raises(FormatError, match=r"bad\.csv: " + problem):
        Animation.load(path)


def test_llf_malformed_other(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(FormatError, match="empty.csv: empty file"):
        Animation.load(tmp_path / "empty.csv")
    (tmp_path / "noshape.csv").write_text("Timecode,Foo\n00:00:00:00.000,1\n")
    with pytest.raises(FormatError, match="no ARKit blendshape columns"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Animation.load(tmp_path / "noshape.csv")
    (tmp_path / "notc.csv").write_text("JawOpen\n0.5\n0.25\n")
    with pytest.raises(FormatError, match="no Timecode column"):
        Animation.load(tmp_path / "notc.csv")
    assert Animation.load(tmp_path / "notc.csv", fps=30).num_frames == 2
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(FormatError, match="bin.csv"):
        Animation.load(tmp_path / "bin.csv")


# ---- plain csv ---------------------------------------------------------------------------------
def test_csv_extension_belongs_to_llf():
    assert get_exporter(path="take.csv").name == "llf-csv"
    assert get_exporter(format="csv").name == "csv"


def test_plain_csv_round_trip_keeps_names_and_order(tmp_path):
    names = ("jawOpen", "myCustomShape", "eyeBlinkLeft")
    anim = Animation(np.random.default_rng(6).random((20, 3)) * 1.2, names, 24, rig="custom")
    path = tmp_path / "plain.csv"
    anim.save(path, format="csv")
    assert path.read_text().splitlines()[0] == "time_s,jawOpen,myCustomShape,eyeBlinkLeft"
    back = Animation.load(path, format="csv", rig="custom")
    assert back.names == names and back.fps == 24 and back.rig == "custom"
    np.testing.assert_allclose(back.weights, anim.weights, atol=5.1e-7)
    assert Animation.load(path, format="csv").rig == "arkit52"  # ARKit names present


def test_plain_csv_without_time_column(tmp_path):
    anim = Animation(np.full((4, 2), 0.5), ("jawOpen", "mouthClose"), 60)
    path = tmp_path / "said.csv"
    anim.save(path, format="csv", time_column=False)
    assert path.read_text().splitlines()[:2] == ["jawOpen,mouthClose", "0.500000,0.500000"]
    with pytest.raises(FormatError, match="pass fps="):
        Animation.load(path, format="csv")
    assert Animation.load(path, format="csv", fps=60).num_frames == 4


def test_plain_csv_uneven_time_is_an_error(tmp_path):
    (tmp_path / "t.csv").write_text("time_s,jawOpen\n0.0,0\n0.1,0\n0.3,0\n0.4,0\n")
    with pytest.raises(FormatError, match=r"t\.csv: line 4: time_s is not evenly spaced"):
        Animation.load(tmp_path / "t.csv", format="csv")


def test_plain_csv_rejects_vertex_animation(tmp_path):
    with pytest.raises(ExportError, match="per-vertex"):
        Animation(np.zeros((2, 12)), (), 30, rig="v").save(tmp_path / "v.csv", format="csv")
