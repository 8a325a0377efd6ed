"""What every rig, audio encoder, sampler and exporter must satisfy, as inheritable pytest classes.

Each contract looks the implementation up by its registered name, so passing it also proves the
plugin is installed and registered correctly. Override the ``make_*`` method to test an object
that is not registered.
"""
from __future__ import annotations

import numpy as np
import torch

from dtsdk.animation import Animation
from dtsdk.rigs import ARKIT52, Rig, get_rig


class RigContract:
    """Set ``rig_name``. Checks geometry, decoding, the ARKit mapping and metric regions."""

    rig_name: str = ""

    def make_rig(self) -> Rig:
        return get_rig(self.rig_name)

    def test_is_a_valid_rig(self):
        rig = self.make_rig()
        assert isinstance(rig, Rig)
        rig.validate()
        assert rig.motion_dim > 0

    def test_mesh_is_finite_and_has_no_degenerate_triangles(self):
        rig = self.make_rig()
        if not rig.has_mesh:
            return
        v, f = rig.template_mm, rig.faces
        assert np.isfinite(v).all()
        assert len(f) > 0
        area2 = np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
        assert (area2 > 1e-9).all(), f"{int((area2 <= 1e-9).sum())} degenerate triangles"
        if rig.deltas_mm is not None:
            assert np.isfinite(rig.deltas_mm).all()

    def test_zero_motion_decodes_to_the_template(self):
        rig = self.make_rig()
        if not rig.has_mesh:
            return
        verts = rig.decode(np.zeros((3, rig.motion_dim), np.float32))
        assert verts.shape == (3, rig.num_vertices, 3)
        np.testing.assert_allclose(verts[1], rig.template_mm, atol=1e-6)

    def test_decode_is_linear_in_the_weights(self):
        rig = self.make_rig()
        if rig.kind != "blendshape":
            return
        rng = np.random.default_rng(0)
        a, b = rng.uniform(0, 1, (2, 1, rig.motion_dim)).astype(np.float32)
        base = rig.template_mm
        va, vb, vab = (rig.decode(w)[0] - base for w in (a, b, a + b))
        np.testing.assert_allclose(vab, va + vb, atol=1e-3)

    def test_every_blendshape_moves_some_vertex(self):
        rig = self.make_rig()
        if rig.kind != "blendshape":
            return
        moved = np.abs(rig.deltas_mm).reshape(len(rig.shape_names), -1).max(axis=1)
        still = [n for n, m in zip(rig.shape_names, moved) if m < 1e-4]
        assert not still, f"shapes that move nothing: {still}"

    def test_arkit_animation_drives_the_rig(self):
        rig = self.make_rig()
        if rig.kind == "vertex":
            return
        assert rig.arkit_map is not None and rig.arkit_map.shape == (len(rig.shape_names), 52)
        assert np.abs(rig.arkit_map).sum() > 0, "no shape maps from ARKit-52"
        anim = Animation(np.full((4, 52), 0.5, np.float32), ARKIT52, 30.0)
        retargeted = anim.to_rig(rig)
        assert retargeted.weights.shape == (4, len(rig.shape_names))
        if rig.has_mesh:
            verts = anim.to_vertices(rig)
            assert verts.shape == (4, rig.num_vertices, 3) and np.isfinite(verts).all()

    def test_metric_regions_exist_for_mesh_rigs(self):
        rig = self.make_rig()
        if not rig.has_mesh:
            return
        for region in ("lips", "upper_face"):
            assert region in rig.regions and rig.regions[region].size > 0, f"missing region '{region}'"


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
        assert isinstance(enc, torch.nn.Module)
        assert int(enc.sample_rate) > 0 and int(enc.feature_dim) > 0

    def test_output_is_frame_aligned(self):
        enc = self.make_encoder()
        for num_frames in (1, 25, 30, 60):
            with torch.no_grad():
                feats = enc(self._wave(enc), num_frames)
            assert tuple(feats.shape) == (2, num_frames, enc.feature_dim)
            assert torch.isfinite(feats).all()

    def test_silence_and_short_input_are_finite(self):
        enc = self.make_encoder()
        with torch.no_grad():
            silent = enc(torch.zeros(1, enc.sample_rate), 30)
            short = enc(torch.zeros(1, max(1, enc.sample_rate // 100)), 1)
        assert torch.isfinite(silent).all() and torch.isfinite(short).all()

    def test_batch_items_are_independent(self):
        enc = self.make_encoder()
        wave = self._wave(enc)
        with torch.no_grad():
            together = enc(wave, 30)
            alone = enc(wave[1:], 30)
        torch.testing.assert_close(together[1:], alone, atol=1e-4, rtol=1e-4)

    def test_different_audio_gives_different_features(self):
        enc = self.make_encoder()
        with torch.no_grad():
            a = enc(self._wave(enc, batch=1, seed=1), 30)
            b = enc(self._wave(enc, batch=1, seed=2) * 3, 30)
        assert not torch.allclose(a, b)


class SamplerContract:
    """Set ``sampler_name``. Uses a denoiser whose answer is known, so correctness is checkable."""

    sampler_name: str = ""
    steps_to_check: tuple = (1, 2, 8, 50)

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
            out = sample(lambda x_t, t, cond: target, x, self._schedule(), None, steps=steps,
                         generator=torch.Generator().manual_seed(2))
            assert out.shape == target.shape and out.dtype == target.dtype
            torch.testing.assert_close(out, target, atol=1e-4, rtol=1e-4)

    def test_seeded_runs_repeat_exactly(self):
        sample = self.make_sampler()
        schedule = self._schedule()
        model = lambda x_t, t, cond: 0.5 * x_t  # noqa: E731
        runs = []
        for _ in range(2):
            x = torch.randn(1, 8, 3, generator=torch.Generator().manual_seed(3))
            runs.append(sample(model, x, schedule, None, steps=8, generator=torch.Generator().manual_seed(4)))
        torch.testing.assert_close(runs[0], runs[1], atol=0, rtol=0)

    def test_timesteps_are_valid_and_callback_sees_every_step(self):
        sample = self.make_sampler()
        schedule = self._schedule()
        seen = []

        def model(x_t, t, cond):
            assert t.dtype == torch.long and t.shape == (x_t.shape[0],)
            assert 0 <= int(t.min()) and int(t.max()) < schedule.num_steps
            return torch.zeros_like(x_t)

        sample(model, torch.randn(2, 4, 3), schedule, None, steps=8, callback=lambda info: seen.append(info["i"]))
        assert len(seen) >= 1 and seen == sorted(seen)

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
        out = sample(model, x, schedule, None, steps=50, generator=torch.Generator().manual_seed(6))
        assert abs(out.std().item() - s) < 0.1 * s


class ExporterContract:
    """Set ``exporter_name``. Writes a known animation and, for readable formats, reads it back."""

    exporter_name: str = ""
    atol: float = 1e-3  # the format's precision for weights

    def make_exporter(self):
        from dtsdk.plugins import lookup

        return lookup("exporter", self.exporter_name).obj

    def make_animation(self) -> Animation:
        t = np.arange(45) / 30.0
        w = np.zeros((45, 52), np.float32)
        w[:, ARKIT52.index("jawOpen")] = 0.5 + 0.4 * np.sin(2 * np.pi * 2 * t)
        w[:, ARKIT52.index("eyeBlinkLeft")] = (np.abs(t - 0.7) < 0.1).astype(np.float32)
        w[:, ARKIT52.index("mouthSmileRight")] = np.linspace(0, 1, 45)
        return Animation(w, ARKIT52, 30.0)

    def _path(self, tmp_path, exporter):
        ext = exporter.extensions[0] if exporter.extensions else ""
        return tmp_path / f"take{ext}"

    def test_declares_name_and_extensions(self):
        exporter = self.make_exporter()
        assert exporter.name.lower() == self.exporter_name.lower()
        assert all(ext.startswith(".") and ext == ext.lower() for ext in exporter.extensions)

    def test_writes_a_file(self, tmp_path):
        exporter = self.make_exporter()
        path = self._path(tmp_path, exporter)
        exporter.write(self.make_animation(), path)
        assert path.exists()
        if not exporter.writes_directory:
            assert path.stat().st_size > 0

    def test_round_trip(self, tmp_path):
        exporter = self.make_exporter()
        if not exporter.can_read or not exporter.stores_weights:
            return
        anim = self.make_animation()
        path = self._path(tmp_path, exporter)
        exporter.write(anim, path)
        back = exporter.read(path).resample(anim.fps)
        n = min(back.num_frames, anim.num_frames)
        assert abs(back.num_frames - anim.num_frames) <= 1
        np.testing.assert_allclose(back.arkit_weights()[:n], anim.arkit_weights()[:n], atol=self.atol)

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
        assert list(tmp_path.iterdir()) == [], f"left behind: {[p.name for p in tmp_path.iterdir()]}"


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
        assert reader.can_read(path)
        assert find_capture_reader(path).name == reader.name
        empty = tmp_path / "empty"
        empty.mkdir()
        assert not reader.can_read(empty)
        unrelated = tmp_path / "notes.txt"
        unrelated.write_text("not a capture")
        assert not reader.can_read(unrelated)

    def test_reading_an_empty_folder_is_a_dtsdk_error(self, tmp_path):
        import pytest

        from dtsdk.errors import DtsdkError

        with pytest.raises(DtsdkError):
            list(self._reader().read(tmp_path))

    def test_clips_are_aligned_and_well_formed(self, tmp_path):
        clips = list(self._reader().read(self.make_capture(tmp_path / "capture")))
        assert clips, "the capture produced no clips"
        names = [c.name for c in clips]
        assert len(set(names)) == len(names), "clip names must be unique"
        for clip in clips:
            assert isinstance(clip.name, str) and clip.name and isinstance(clip.speaker, str) and clip.speaker
            assert clip.sample_rate == 16000 and clip.audio.dtype == np.float32 and clip.audio.ndim == 1
            assert isinstance(clip.animation, Animation) and np.isfinite(clip.animation.weights).all()
            audio_s = len(clip.audio) / clip.sample_rate
            assert abs(audio_s - clip.animation.duration_s) <= 1.0 / clip.animation.fps + 1e-6, (
                f"{clip.name}: audio {audio_s:.3f}s vs motion {clip.animation.duration_s:.3f}s")

    def test_reading_twice_gives_the_same_clips(self, tmp_path):
        path = self.make_capture(tmp_path / "capture")
        first, second = (list(self._reader().read(path)) for _ in range(2))
        assert [c.name for c in first] == [c.name for c in second]
        for a, b in zip(first, second):
            np.testing.assert_array_equal(a.audio, b.audio)
            np.testing.assert_array_equal(a.animation.weights, b.animation.weights)
