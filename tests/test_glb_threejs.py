"""dtsdk's .glb in the Khronos glTF validator and in three.js (GLTFLoader + AnimationMixer, under Node).

``tests/js/check_glb.mjs`` validates a file and plays its first clip, sampling the morph influences and
the head node's rotation; these tests compare what three.js plays with the weights dtsdk wrote.

Needs Node.js and the pinned packages: ``npm ci --prefix tests/js`` (offline tests never install them;
without them these tests are skipped).
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import dtsdk
from dtsdk.animation import Animation
from dtsdk.io.glb import head_pose_to_quaternions
from dtsdk.rigs import get_rig
from dtsdk.rigs.arkit import ARKIT52

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "tests" / "js"
SCRIPT = JS / "check_glb.mjs"
HELLO = ROOT / "examples" / "hello.csv"
INSTALL = "npm ci --prefix tests/js"
TOL = 1e-3


def _node_or_skip() -> str:
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        pytest.skip("Node.js/npm not found: the three.js and glTF-validator checks need them "
                    f"(install Node >= 18, then `{INSTALL}`)")
    missing = [p for p in ("three", "gltf-validator") if not (JS / "node_modules" / p / "package.json").is_file()]
    if missing:
        pytest.skip(f"tests/js/node_modules lacks {', '.join(missing)}: run `{INSTALL}` once")
    return node


def check_glb(path: Path, times=None) -> dict:
    """The JSON report of ``check_glb.mjs`` for ``path`` (validator + three.js playback)."""
    node = _node_or_skip()
    command = [node, str(SCRIPT), str(path)]
    if times is not None:
        command += ["--times", ",".join(repr(float(t)) for t in times)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, f"check_glb.mjs failed ({done.returncode}):\n{done.stderr}\n{done.stdout[-2000:]}"
    report = json.loads(done.stdout)
    assert report["three"].get("error") is None, f"three.js: {report['three']['error']}"
    return report


def assert_valid(report: dict) -> None:
    v = report["validator"]
    assert "error" not in v, f"glTF validator crashed: {v['error']}"
    listing = "\n".join(f"  {m['severity']} {m['code']} at {m['pointer']}: {m['message']}" for m in v["messages"])
    assert v["numErrors"] == 0, f"glTF validator: {v['numErrors']} errors, {v['numWarnings']} warnings\n{listing}"
    assert v["numWarnings"] == 0, f"glTF validator: {v['numWarnings']} warnings\n{listing}"


def frame_times(animation: Animation) -> np.ndarray:
    return (np.arange(animation.num_frames) / animation.fps).astype(np.float32).astype(np.float64)  # as written


def expected_weights(animation: Animation, rig: str, t: float) -> np.ndarray:
    """The written weights (rig space) linearly interpolated at ``t`` seconds, as glTF LINEAR does."""
    weights = animation.to_rig(rig).weights
    times = frame_times(animation)
    return np.array([np.interp(t, times, weights[:, k]) for k in range(weights.shape[1])])


def expected_quaternion(animation: Animation, t: float) -> np.ndarray:
    """Slerp of the written head-pose quaternions at ``t`` (glTF LINEAR rotation)."""
    quats = head_pose_to_quaternions(animation.head_pose).astype(np.float64)
    times = frame_times(animation)
    i = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1))
    if i == len(times) - 1:
        return quats[i]
    a, b = quats[i], quats[i + 1]
    u = (t - times[i]) / (times[i + 1] - times[i])
    if np.dot(a, b) < 0:
        b = -b
    angle = np.arccos(np.clip(np.dot(a, b), -1, 1))
    if angle < 1e-6:
        q = a + u * (b - a)
    else:
        q = (np.sin((1 - u) * angle) * a + np.sin(u * angle) * b) / np.sin(angle)
    return q / np.linalg.norm(q)


def assert_influences_match(report: dict, animation: Animation, rig: str) -> None:
    names = get_rig(rig).shape_names
    three = report["three"]
    assert list(three["morphTargetDictionary"]) == list(names)
    for sample in three["samples"]:
        want = expected_weights(animation, rig, sample["time"])
        got = np.array([sample["influences"][n] for n in names])
        worst = int(np.argmax(np.abs(got - want)))
        assert np.allclose(got, want, atol=TOL), (
            f"t={sample['time']:.4f}s: three.js plays {names[worst]}={got[worst]:.6f}, dtsdk wrote {want[worst]:.6f}")


def assert_duration(report: dict, animation: Animation) -> None:
    # glTF keys sit at the frame times 0 .. (T-1)/fps, so the clip runs from the first frame to the last
    # one: Animation.duration_s (T/fps, the span the frames cover on a video timeline) minus one frame.
    last_frame_s = (animation.num_frames - 1) / animation.fps
    assert report["three"]["clip"]["duration"] == pytest.approx(last_frame_s, abs=1e-5)
    assert report["three"]["clip"]["duration"] == pytest.approx(animation.duration_s - 1 / animation.fps, abs=1e-5)


# ---- the example: hello.csv on the default mesh rig ---------------------------------------------
@pytest.fixture(scope="module")
def hello(tmp_path_factory):
    _node_or_skip()
    animation = dtsdk.Animation.load(HELLO)
    path = tmp_path_factory.mktemp("glb") / "hello.glb"
    animation.save(path)
    return animation, check_glb(path)


def test_hello_glb_passes_the_khronos_validator(hello):
    _, report = hello
    assert_valid(report)
    info = report["validator"]["info"]
    assert info["hasMorphTargets"] and info["animationCount"] == 1 and info["drawCallCount"] == 1


def test_hello_glb_has_52_arkit_morph_targets_in_threejs(hello):
    _, report = hello
    three = report["three"]
    assert three["morphMesh"] == "dtface"
    assert three["morphTargetCount"] == 52
    assert three["morphTargetDictionary"] == {name: i for i, name in enumerate(ARKIT52)}


def test_hello_glb_plays_the_written_weights(hello):
    animation, report = hello
    three = report["three"]
    assert_duration(report, animation)
    tracks = {t["name"]: t for t in three["clip"]["tracks"]}
    assert tracks["dtface.morphTargetInfluences"]["keys"] == animation.num_frames
    duration = three["clip"]["duration"]
    assert [s["time"] for s in three["samples"]] == pytest.approx([0, duration / 4, duration / 2, 3 * duration / 4])
    assert_influences_match(report, animation, "dtface")
    jaw = [s["influences"]["jawOpen"] for s in three["samples"]]
    assert len(set(jaw)) == len(jaw), f"jawOpen does not change over the clip: {jaw}"


def test_hello_glb_head_pose_plays(hello):
    animation, report = hello
    assert animation.head_pose is not None  # hello.csv has HeadYaw/HeadPitch/HeadRoll
    assert report["three"]["headRotationTrack"]
    for sample in report["three"]["samples"]:
        want = expected_quaternion(animation, sample["time"])
        got = np.array(sample["quaternion"])
        assert min(np.abs(got - want).max(), np.abs(got + want).max()) < TOL, (sample["time"], got, want)


# ---- a known jawOpen ramp with a known head pose ------------------------------------------------
FPS = 30.0
FRAMES = 31  # 0 .. 1 s


def ramp_animation(head: bool) -> Animation:
    weights = np.zeros((FRAMES, 52), np.float32)
    weights[:, ARKIT52.index("jawOpen")] = np.linspace(0, 1, FRAMES)  # 0 at t=0, 1 at t=1 s
    weights[:, ARKIT52.index("eyeBlinkLeft")] = 0.25
    pose = None
    if head:
        t = np.arange(FRAMES) / FPS
        pose = np.stack([0.5 * t, -0.2 * t, 0.1 * np.sin(2 * np.pi * t)], axis=1)  # yaw, pitch, roll radians
    return Animation(weights, ARKIT52, FPS, "arkit52", pose)


RAMP_TIMES = [0.0, 0.25, 0.5, 0.75, 1.0, 1 / 30, 0.4 + 1 / 60]  # quarters, the end, a frame, between frames


@pytest.fixture(scope="module")
def ramp(tmp_path_factory):
    _node_or_skip()
    folder = tmp_path_factory.mktemp("ramp")
    out = {}
    for head in (True, False):
        animation = ramp_animation(head)
        path = folder / f"ramp_head{int(head)}.glb"
        animation.save(path)
        out[head] = animation, check_glb(path, RAMP_TIMES)
    return out


@pytest.mark.parametrize("head", [True, False], ids=["head", "no-head"])
def test_ramp_glb_is_valid_and_plays_the_ramp(ramp, head):
    animation, report = ramp[head]
    assert_valid(report)
    assert report["three"]["morphTargetCount"] == 52
    assert_duration(report, animation)
    assert report["three"]["clip"]["duration"] == pytest.approx(1.0, abs=1e-6)
    assert_influences_match(report, animation, "dtface")
    for sample in report["three"]["samples"]:
        assert sample["influences"]["jawOpen"] == pytest.approx(sample["time"], abs=TOL)  # the ramp is jawOpen = t
        assert sample["influences"]["eyeBlinkLeft"] == pytest.approx(0.25, abs=TOL)
        assert sample["influences"]["mouthClose"] == 0
    assert report["three"]["headRotationTrack"] is head


def test_ramp_head_pose_plays_as_yaw_pitch_roll(ramp):
    animation, report = ramp[True]
    times = frame_times(animation)
    for sample in report["three"]["samples"]:
        want_q = expected_quaternion(animation, sample["time"])
        got_q = np.array(sample["quaternion"])
        assert min(np.abs(got_q - want_q).max(), np.abs(got_q + want_q).max()) < TOL, sample
        on_frame = np.isclose(times, sample["time"], atol=1e-6)
        if on_frame.any():
            # Independent of dtsdk's quaternion code: three.js's own YXZ Euler of the node's rotation.
            want = animation.head_pose[int(np.argmax(on_frame))]
            np.testing.assert_allclose(sample["yawPitchRoll"], want, atol=TOL, err_msg=f"t={sample['time']}")
    last = report["three"]["samples"][RAMP_TIMES.index(1.0)]
    np.testing.assert_allclose(last["yawPitchRoll"], [0.5, -0.2, 0.0], atol=TOL)  # yaw left, pitch up at 1 s
