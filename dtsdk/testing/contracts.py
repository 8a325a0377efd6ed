"""What every audio encoder, sampler, exporter and capture reader must satisfy, as inheritable
pytest classes (the rig contract is :mod:`dtsdk.testing.rig_contract`).

Each contract looks the implementation up by its registered name, so passing it also proves the
plugin is installed and registered correctly. Override the ``make_*`` method to test an object
that is not registered. A check that does not apply skips with the reason.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dtsdk.animation import Animation
from dtsdk.rigs import ARKIT52, DEFAULT_MESH_RIG
from dtsdk.testing.rig_contract import RigContract


class AudioEncoderContract:
    """Set ``encoder_name`` (and ``encoder_config`` if the factory needs arguments)."""

    encoder_name: str = ""
    encoder_config: dict = {}

    def make_encoder(self):
        from dtsdk.encoders import build_encoder

        return build_encoder(self.encoder_name, **self.encoder_config).eval()

    def _wave(self, encoder, seconds=1.0, batch=2, seed=0):
        g = torch.Generator().manual_seed(seed)
        return 0.1 * torch.randn(batch, int(encoder.sample_rate * seconds), generator=g)

    def test_declares_rate_and_dimension(self):
        enc = self.make_encoder()
        assert isinstance(enc, torch.nn.Module), f"the factory returned {type(enc).__name__}, not a torch.nn.Module"
        assert int(enc.sample_rate) > 0 and int(enc.feature_dim) > 0, (
            f"sample_rate ({enc.sample_rate}) and feature_dim ({enc.feature_dim}) must be positive")

    def test_output_is_frame_aligned(self):
        enc = self.make_encoder()
        for num_frames in (1, 25, 30, 60):
            with torch.no_grad():
                feats = enc(self._wave(enc), num_frames)
            assert tuple(feats.shape) == (2, num_frames, enc.feature_dim), (
                f"asked for {num_frames} frames, got features {tuple(feats.shape)}; the output must be "
                f"(B, num_frames, feature_dim={enc.feature_dim})")
            assert torch.isfinite(feats).all(), f"NaN or Inf in the features for {num_frames} frames"

    def test_silence_and_short_input_are_finite(self):
        enc = self.make_encoder()
        with torch.no_grad():
            silent = enc(torch.zeros(1, enc.sample_rate), 30)
            short = enc(torch.zeros(1, max(1, enc.sample_rate // 100)), 1)
        assert torch.isfinite(silent).all(), "silence gives NaN or Inf features (a log or a norm of zero?)"
        assert torch.isfinite(short).all(), "a 10 ms input gives NaN or Inf features"

    def test_batch_items_are_independent(self):
        enc = self.make_encoder()
        wave = self._wave(enc)
        with torch.no_grad():
            together = enc(wave, 30)
            alone = enc(wave[1:], 30)
        torch.testing.assert_close(together[1:], alone, atol=1e-4, rtol=1e-4,
                                   msg="an item's features depend on the other items of its batch")

    def test_different_audio_gives_different_features(self):
        enc = self.make_encoder()
        with torch.no_grad():
            a = enc(self._wave(enc, batch=1, seed=1), 30)
            b = enc(self._wave(enc, batch=1, seed=2) * 3, 30)
        assert not torch.allclose(a, b), "two different waves gave the same features"


class SamplerContract:
    """Set ``sampler_name``. Uses a denoiser whose answer is known, so correctness is checkable."""

    sampler_name: str = ""
    steps_to_check: tuple = (1, 2, 8, 50)

    def cond(self) -> dict:
        """The cond the contract passes: ``distilled_steps`` (what a distilled model was trained for)
        lists every step count the tests use, so a sampler that checks it runs them all; samplers
        that do not need it pass cond through to the model untouched."""
        return {"distilled_steps": tuple(sorted({*self.steps_to_check, 1, 8, 50}))}

    def make_sampler(self):
        from dtsdk.samplers import get_sampler

        return get_sampler(self.sampler_name)

    @staticmethod
    def _schedule():
        from dtsdk.diffusion import NoiseSchedule

        return NoiseSchedule.cosine(500)

    def test_perfect_denoiser_returns_its_answer(self):
        sample = self.make_sampler()
        target = torch.randn(2, 12, 5, generator=torch.Generator().manual_seed(0))
        for steps in self.steps_to_check:
            x = torch.randn(2, 12, 5, generator=torch.Generator().manual_seed(1))
            out = sample(lambda x_t, t, cond: target, x, self._schedule(), self.cond(), steps=steps,
                         generator=torch.Generator().manual_seed(2))
            assert out.shape == target.shape and out.dtype == target.dtype, (
                f"steps={steps}: the sample is {out.dtype} {tuple(out.shape)}, "
                f"the input {target.dtype} {tuple(target.shape)}")
            torch.testing.assert_close(out, target, atol=1e-4, rtol=1e-4,
                                       msg=f"steps={steps}: a denoiser that always answers x0 must end at x0")

    def test_seeded_runs_repeat_exactly(self):
        sample = self.make_sampler()
        schedule = self._schedule()
        model = lambda x_t, t, cond: 0.5 * x_t  # noqa: E731
        runs = []
        for _ in range(2):
            x = torch.randn(1, 8, 3, generator=torch.Generator().manual_seed(3))
            runs.append(sample(model, x, schedule, self.cond(), steps=8, generator=torch.Generator().manual_seed(4)))
        torch.testing.assert_close(runs[0], runs[1], atol=0, rtol=0,
                                   msg="the same seed gave different samples; draw noise from `generator` only")

    def test_timesteps_are_valid_and_callback_sees_every_step(self):
        sample = self.make_sampler()
        schedule = self._schedule()

        def model(x_t, t, cond):
            assert t.dtype == torch.long and t.shape == (x_t.shape[0],), (
                f"the model must get t as a long tensor of shape (B,), got {t.dtype} {tuple(t.shape)}")
            assert 0 <= int(t.min()) and int(t.max()) < schedule.num_steps, (
                f"timestep {int(t.min())}..{int(t.max())} is outside the schedule's 0..{schedule.num_steps - 1}")
            return torch.zeros_like(x_t)

        for steps in (1, 8):
            seen = []
            x = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(7))
            sample(model, x, schedule, self.cond(), steps=steps, callback=seen.append,
                   generator=torch.Generator().manual_seed(8))
            # Progress bars and step-wise previews count on one call per step, in order.
            indices = [info.get("i") for info in seen]
            assert indices == list(range(steps)), (
                f"with steps={steps} the callback saw steps {indices}, not 0..{steps - 1} once each in order; "
                "call callback({'i', 't', 'x', 'denoised'}) after every step")
            missing = sorted({"i", "t", "x", "denoised"} - set(seen[-1]))
            assert not missing, f"the callback's dict lacks {missing}"
            assert tuple(seen[-1]["x"].shape) == tuple(x.shape), "callback 'x' must have the sample's shape"
            ts = [int(info["t"]) for info in seen]
            assert all(a > b for a, b in zip(ts, ts[1:])), f"timesteps must decrease from step to step, got {ts}"

    def test_exact_gaussian_denoiser_recovers_the_data_spread(self):
        # For data x0 ~ N(0, s^2) the ideal x0-denoiser is linear; a correct sampler must then
        # produce samples with spread close to s.
        sample = self.make_sampler()
        schedule = self._schedule()
        s = 0.5
        abar = schedule.alphas_cumprod

        def model(x_t, t, cond):
            a = abar[t].to(x_t.dtype).view(-1, 1, 1)
            return a.sqrt() * s**2 / (a * s**2 + 1 - a) * x_t

        x = torch.randn(64, 16, 8, generator=torch.Generator().manual_seed(5))
        out = sample(model, x, schedule, self.cond(), steps=50, generator=torch.Generator().manual_seed(6))
        assert abs(out.std().item() - s) < 0.1 * s, (
            f"with the exact denoiser of N(0, {s}^2) data the samples' spread is {out.std().item():.3f}, not {s}: "
            "the update rule is wrong")


class ExporterContract:
    """Set ``exporter_name``. Writes a known animation (ARKit-52 weights with head pose, meta and the
    rig name ``dtface``) and, for readable formats, reads it back.

    What the format declares it keeps (``stores_weights``, ``stores_head_pose``, ``stores_meta``,
    ``stores_rig_name`` on :class:`dtsdk.io.Exporter`) must come back; the rest skips, saying so.
    """

    exporter_name: str = ""
    atol: float = 1e-3  # the format's precision for weights and head pose (radians)

    def make_exporter(self):
        from dtsdk.plugins import lookup

        return lookup("exporter", self.exporter_name).obj

    def make_animation(self) -> Animation:
        frames = 45
        t = np.arange(frames) / 30.0
        w = np.zeros((frames, 52), np.float32)
        w[:, ARKIT52.index("jawOpen")] = 0.5 + 0.4 * np.sin(2 * np.pi * 2 * t)
        w[:, ARKIT52.index("eyeBlinkLeft")] = (np.abs(t - 0.7) < 0.1).astype(np.float32)
        w[:, ARKIT52.index("mouthSmileRight")] = np.linspace(0, 1, frames)
        # The first and the last frame each hold a shape no other frame has, so a format that drops
        # or shifts an end frame shows it.
        w[0, ARKIT52.index("eyeWideRight")] = 0.9
        w[-1, ARKIT52.index("browInnerUp")] = 0.8
        head = np.stack([0.2 * np.sin(2 * np.pi * t), 0.1 * np.cos(2 * np.pi * t), 0.05 - 0.1 * t], 1)  # radians
        return Animation(w, ARKIT52, 30.0, rig=DEFAULT_MESH_RIG, head_pose=head,
                         meta={"take": "contract", "speaker": "s01", "gain": 0.5})

    def _path(self, tmp_path, exporter):
        ext = exporter.extensions[0] if exporter.extensions else ""
        return tmp_path / f"take{ext}"

    def _read_back(self, tmp_path, needs: str = "stores_weights"):
        """(written, read back at the written rate); skips for formats that cannot be read or lack ``needs``."""
        exporter = self.make_exporter()
        if not exporter.can_read:
            pytest.skip(f"the '{exporter.name}' format cannot be read back")
        if not getattr(exporter, needs, True):
            pytest.skip(f"the '{exporter.name}' format declares {needs} = False")
        anim = self.make_animation()
        path = self._path(tmp_path, exporter)
        exporter.write(anim, path)
        return exporter, anim, exporter.read(path).resample(anim.fps)

    def test_declares_name_and_extensions(self):
        exporter = self.make_exporter()
        assert exporter.name.lower() == self.exporter_name.lower(), (
            f"the exporter registered as '{self.exporter_name}' calls itself '{exporter.name}'")
        bad = [ext for ext in exporter.extensions if not (ext.startswith(".") and ext == ext.lower())]
        assert not bad, f"extensions must be lower case with the dot ('.csv'), got {bad}"

    def test_writes_a_file(self, tmp_path):
        exporter = self.make_exporter()
        path = self._path(tmp_path, exporter)
        exporter.write(self.make_animation(), path)
        assert path.exists(), f"write() left nothing at {path.name}"
        if not exporter.writes_directory:
            assert path.stat().st_size > 0, f"write() left an empty {path.name}"

    def test_round_trip_keeps_every_frame(self, tmp_path):
        exporter, anim, back = self._read_back(tmp_path)
        assert back.num_frames == anim.num_frames, (
            f"wrote {anim.num_frames} frames at {anim.fps:g} fps, read back {back.num_frames}")
        got, want = back.arkit_weights(), anim.arkit_weights()
        for label, i in (("first", 0), ("last", -1)):
            np.testing.assert_allclose(got[i], want[i], atol=self.atol,
                                       err_msg=f"the {label} frame did not survive the '{exporter.name}' round trip")
        np.testing.assert_allclose(got, want, atol=self.atol,
                                   err_msg=f"weights changed in the '{exporter.name}' round trip")

    def test_round_trip_keeps_head_pose(self, tmp_path):
        exporter, anim, back = self._read_back(tmp_path, "stores_head_pose")
        lost = (f"the '{exporter.name}' format lost the head pose; "
                "if it cannot store one, declare stores_head_pose = False")
        assert back.head_pose is not None, lost
        assert back.num_frames == anim.num_frames, f"read back {back.num_frames} frames, wrote {anim.num_frames}"
        for label, i in (("first", 0), ("last", -1)):
            np.testing.assert_allclose(back.head_pose[i], anim.head_pose[i], atol=self.atol,
                                       err_msg=f"the head pose of the {label} frame changed "
                                               "(yaw, pitch, roll in radians)")
        np.testing.assert_allclose(back.head_pose, anim.head_pose, atol=self.atol, err_msg=lost)

    def test_round_trip_keeps_meta(self, tmp_path):
        exporter, anim, back = self._read_back(tmp_path, "stores_meta")
        kept = {k: back.meta.get(k) for k in anim.meta}
        assert kept == anim.meta, (f"the '{exporter.name}' format gave back meta {kept} for {anim.meta}; "
                                   "if it cannot store meta, declare stores_meta = False")

    def test_round_trip_keeps_rig_name(self, tmp_path):
        exporter, anim, back = self._read_back(tmp_path, "stores_rig_name")
        assert back.rig == anim.rig, (f"the '{exporter.name}' format read rig '{back.rig}' back for '{anim.rig}'; "
                                      "if it cannot store the rig name, declare stores_rig_name = False")

    def test_failed_write_leaves_nothing(self, tmp_path, monkeypatch):
        exporter = self.make_exporter()
        import dtsdk.utils.atomic as atomic

        real_replace = atomic.os.replace

        def failing_replace(src, dst):
            raise OSError("simulated failure at the final move")

        monkeypatch.setattr(atomic.os, "replace", failing_replace)
        try:
            exporter.write(self.make_animation(), self._path(tmp_path, exporter))
        except OSError:
            pass
        finally:
            monkeypatch.setattr(atomic.os, "replace", real_replace)
        left = [p.name for p in tmp_path.iterdir()]
        assert not left, f"a failed write left {left} behind; write through dtsdk.utils.atomic.atomic_open/atomic_path"


class CaptureReaderContract:
    """Set ``reader_name`` and implement ``make_capture(tmp_path) -> path`` writing a small valid capture."""

    reader_name: str = ""

    def make_capture(self, tmp_path):
        raise NotImplementedError("write a tiny capture in your reader's layout and return its path")

    def _reader(self):
        from dtsdk.capture import get_capture_reader

        return get_capture_reader(self.reader_name)

    def test_recognises_its_layout_and_only_its_layout(self, tmp_path):
        from dtsdk.capture import find_capture_reader

        path = self.make_capture(tmp_path / "capture")
        reader = self._reader()
        assert reader.can_read(path), f"reader '{reader.name}' does not recognise the capture make_capture() wrote"
        found = find_capture_reader(path).name
        assert found == reader.name, f"the capture is claimed by reader '{found}' before '{reader.name}'"
        empty = tmp_path / "empty"
        empty.mkdir()
        assert not reader.can_read(empty), f"reader '{reader.name}' claims an empty folder"
        unrelated = tmp_path / "notes.txt"
        unrelated.write_text("not a capture")
        assert not reader.can_read(unrelated), f"reader '{reader.name}' claims an unrelated text file"

    def test_reading_an_empty_folder_is_a_dtsdk_error(self, tmp_path):
        from dtsdk.errors import DtsdkError

        with pytest.raises(DtsdkError):  # a message for people, not a traceback or an empty result
            list(self._reader().read(tmp_path))

    def test_clips_are_aligned_and_well_formed(self, tmp_path):
        clips = list(self._reader().read(self.make_capture(tmp_path / "capture")))
        assert clips, "the capture produced no clips"
        names = [c.name for c in clips]
        assert len(set(names)) == len(names), "clip names must be unique"
        for clip in clips:
            assert isinstance(clip.name, str) and clip.name and isinstance(clip.speaker, str) and clip.speaker, (
                f"clip {clip.name!r}: name and speaker must be non-empty strings, got speaker {clip.speaker!r}")
            assert clip.sample_rate == 16000 and clip.audio.dtype == np.float32 and clip.audio.ndim == 1, (
                f"{clip.name}: audio must be mono float32 at 16 kHz, got {clip.audio.dtype} {clip.audio.shape} "
                f"at {clip.sample_rate} Hz (dtsdk.audio.load_audio gives that)")
            assert isinstance(clip.animation, Animation) and np.isfinite(clip.animation.weights).all(), (
                f"{clip.name}: animation must be a finite dtsdk.Animation")
            audio_s = len(clip.audio) / clip.sample_rate
            assert abs(audio_s - clip.animation.duration_s) <= 1.0 / clip.animation.fps + 1e-6, (
                f"{clip.name}: audio {audio_s:.3f}s vs motion {clip.animation.duration_s:.3f}s")

    def test_reading_twice_gives_the_same_clips(self, tmp_path):
        path = self.make_capture(tmp_path / "capture")
        first, second = (list(self._reader().read(path)) for _ in range(2))
        assert [c.name for c in first] == [c.name for c in second], "clips must come in the same order every time"
        for a, b in zip(first, second):
            np.testing.assert_array_equal(a.audio, b.audio, err_msg=f"{a.name}: audio differs between reads")
            np.testing.assert_array_equal(a.animation.weights, b.animation.weights,
                                          err_msg=f"{a.name}: motion differs between reads")


__all__ = ["RigContract", "AudioEncoderContract", "SamplerContract", "ExporterContract", "CaptureReaderContract"]
