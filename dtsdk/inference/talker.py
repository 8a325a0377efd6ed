"""``Talker``: speech in, :class:`~dtsdk.animation.Animation` out, with a DiffusionTalker checkpoint.

    from dtsdk.inference import Talker
    talker = Talker("checkpoints/teacher", identity="auto")
    anim = talker.animate("speech.wav", seed=0)
    anim.save("speech.glb")

Audio of any length goes through :mod:`dtsdk.inference.windows` (overlapping windows, crossfaded).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from dtsdk.animation import Animation
from dtsdk.errors import AudioError, DtsdkError, PluginError
from dtsdk.identities import ResolvedIdentity, check_identity, is_auto, resolve_identity
from dtsdk.inference.windows import Stitcher, plan_windows
from dtsdk.rigs import get_rig
from dtsdk.utils.device import autocast, resolve_device

# Where the packaged default model lives; a later release ships a small trained checkpoint here.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "default"
DEFAULT_MAX_DURATION_S = 3 * 3600.0
AUTO_MATCH_S = 60.0  # "auto" identity is matched on at most this much audio from the start


# Windows of long audio. The training crop (config.train_window_s, 2 s) would be the natural choice: on 48
# synthetic test clips it scores LVE 0.95 mm against 1.29 mm with these (the 2026-12-01 default model). But on
# real recorded speech the default model then closes the lips on 27% of p/b/m against 53% with these
# (benchmarks/bench_real_speech.py; docs/default-model.md), and real speech is what users animate.
DEFAULT_WINDOW_S, DEFAULT_OVERLAP_S = 10.0, 1.0


def load_model(model):
    """A DiffusionTalker instance, a checkpoint directory, a Hub repo id, or ``None`` (the packaged default)."""
    from dtsdk.model import DiffusionTalker

    if isinstance(model, DiffusionTalker):
        return model.eval(), type(model).__name__
    if model is None:
        if not (DEFAULT_MODEL_DIR / "config.json").is_file():
            raise DtsdkError(
                f"no default model is installed yet ({DEFAULT_MODEL_DIR} is empty); pass a DiffusionTalker "
                "checkpoint: Talker(model='path/to/checkpoint' or 'owner/repo'), or `dtsdk animate ... --model DIR`")
        model = DEFAULT_MODEL_DIR
    return DiffusionTalker.from_pretrained(model), os.fspath(model)


class Talker:
    """Animate speech with a DiffusionTalker.

    ``model``: checkpoint directory, Hub repo id, a ``DiffusionTalker``, or ``None`` for the packaged
    default. ``identity``: the default speaker (a name or index, an enrolled identity's name or folder
    (``dtsdk enroll``), a mix such as ``{"t05": 0.7, "me": 0.3}``, ``"auto"`` or ``None`` for generic
    motion; see :mod:`dtsdk.identities`);
    ``sampler``/``steps``: default to the model's config. ``guidance``: classifier-free guidance
    weight toward the identity (1 = none; see ``DiffusionTalker.sample``). ``window_s``/``overlap_s``: the
    windows audio is animated in, crossfaded over the overlap (seconds). The model was trained on crops of
    ``config.train_window_s``; windows of that length score better lips on the synthetic test clips but
    close the lips far less often on real recorded speech (docs/default-model.md), so the default stays
    10 s windows with 1 s crossfades. ``max_duration_s``: longer audio is refused before it is decoded.
    ``match_enrolled``: whether ``"auto"`` also considers the identity store's identities of this model.
    """

    def __init__(self, model=None, identity=None, sampler: str | None = None, steps: int | None = None,
                 device=None, *, guidance: float = 1.0, window_s: float = DEFAULT_WINDOW_S,
                 overlap_s: float = DEFAULT_OVERLAP_S,
                 max_duration_s: float = DEFAULT_MAX_DURATION_S, match_enrolled: bool = True):
        self.device = resolve_device(device)
        self.model, self.model_name = load_model(model)
        self.model.to(self.device)
        self.config = self.model.config
        if not self.model.objective.uses_sampler:  # the regression baseline: one deterministic pass
            sampler, steps = self.config.objective, 1
        self.sampler = sampler or self.config.default_sampler
        self.steps = int(steps or self.config.default_steps)
        self.guidance = float(guidance)
        self.window_frames = max(1, round(window_s * self.config.fps))
        self.overlap_frames = round(overlap_s * self.config.fps)
        plan_windows(1, self.window_frames, self.overlap_frames)  # validate the window sizes now
        self.max_duration_s = max_duration_s
        self.match_enrolled = match_enrolled  # "auto" also considers the identity store's identities
        self.identity = check_identity(self.model, identity)
        self.model_rig = _model_rig(self.config)

    @property
    def identities(self) -> list[str]:
        return list(self.config.identities)

    def load(self, audio, sr: int | None = None) -> np.ndarray:
        """A path, bytes or an array (with ``sr``) -> mono float32 (S,) at the model's rate."""
        from dtsdk.audio import load_audio

        if isinstance(audio, torch.Tensor):
            audio = audio.detach().cpu().numpy()
        if isinstance(audio, np.ndarray):
            if sr is None:
                raise AudioError("audio array: an array carries no sample rate; pass sr=<Hz>, "
                                 "e.g. talker.animate(samples, sr=16000)")
            return load_audio(audio, sr=self.config.sample_rate, source_sr=sr, max_duration_s=self.max_duration_s)
        if sr is not None:
            raise AudioError(f"{_label(audio)}: sr= is only for arrays; a file's header gives its own rate")
        return load_audio(audio, sr=self.config.sample_rate, max_duration_s=self.max_duration_s)

    def animate(self, audio, sr: int | None = None, seed: int | None = None, num_samples: int = 1,
                identity=..., rig=None):
        """Speech -> Animation (or a list of ``num_samples`` Animations) at the model's fps and rig.

        ``identity`` overrides the Talker's default for this call. ``seed`` makes the output
        reproducible. ``rig`` (a name or a Rig) retargets the result (e.g. ``"dtface"``). The frame count is
        ``round(duration_s * fps)``. ``meta`` records identity (the matched one for ``"auto"``, with
        ``identity_confidence``), ``identity_source`` (library, auto, generic), seed, sampler, steps and
        the number of windows.
        """
        identity = self.identity if identity is ... else check_identity(self.model, identity)
        if num_samples < 1:
            raise DtsdkError(f"num_samples must be at least 1, got {num_samples}")
        wave = self.load(audio, sr)  # (S,)
        duration_s = len(wave) / self.config.sample_rate
        num_frames = max(1, round(duration_s * self.config.fps))
        if seed is None:  # drawn from torch's RNG, so torch.manual_seed still makes a run repeatable
            seed = int(torch.randint(0, 2**62, (1,)).item())
        wave_t = torch.from_numpy(wave)[None]  # (1, S)
        chosen = self.resolve_identity(identity, wave_t, num_frames)
        motion = self._sample_windows(wave_t, num_frames, chosen, seed, num_samples)  # (N, T, D)
        rig_name, names = self.model_rig
        if self.config.is_arkit:
            # ARKit coefficients are 0..1 by definition; sampled motion overshoots by a few hundredths
            # (resting channels dip below 0, a blink peaks above 1), which a rig shows as inverted shapes.
            motion = np.clip(motion, 0.0, 1.0)
        meta = {"identity": chosen.name, "identity_source": chosen.source, "identity_confidence": chosen.confidence,
                "seed": seed, "sampler": self.sampler, "steps": self.steps,
                "guidance": self.guidance,
                "model": self.model_name, "windows": len(plan_windows(num_frames, self.window_frames,
                                                                      self.overlap_frames))}
        target = None if rig is None else get_rig(rig)  # looked up once for all samples (a Rig passes through)
        animations = []
        for k in range(num_samples):
            anim = Animation(motion[k], names, self.config.fps, rig_name, meta={**meta, "sample": k})
            animations.append(anim.to_rig(target) if target is not None else anim)
        return animations[0] if num_samples == 1 else animations

    # ---- internals -----------------------------------------------------------------------------
    def resolve_identity(self, identity, wave: torch.Tensor, num_frames: int) -> ResolvedIdentity:
        """Resolve the identity ONCE per clip, so every window of a long file speaks in the same style;
        ``"auto"`` is matched on the clip's first ``AUTO_MATCH_S`` seconds. wave: (1, S)."""
        features = None
        if is_auto(identity):
            samples = min(wave.shape[1], int(AUTO_MATCH_S * self.config.sample_rate))
            frames = max(1, min(num_frames, round(samples / self.config.sample_rate * self.config.fps)))
            with torch.no_grad(), autocast(self.device):
                features = self.model.encoder(wave[:, :samples].to(self.device), frames).float()  # (1, T, D_audio)
        with torch.no_grad():
            return resolve_identity(self.model, identity, 1, features, enrolled=self.match_enrolled)[0]

    def _sample_windows(self, wave: torch.Tensor, num_frames: int, identity: ResolvedIdentity, seed: int,
                        num_samples: int) -> np.ndarray:
        sr, fps = self.config.sample_rate, self.config.fps
        stitchers = [Stitcher(num_frames, self.config.motion_dim) for _ in range(num_samples)]
        for window in plan_windows(num_frames, self.window_frames, self.overlap_frames):
            a, b = round(window.start / fps * sr), round(window.end / fps * sr)
            chunk = wave[:, a:b]  # (1, S_w); the last window may reach past the audio: pad with silence
            if chunk.shape[1] < b - a:
                chunk = torch.nn.functional.pad(chunk, (0, b - a - chunk.shape[1]))
            # Per-window seed derived from the call seed: windows are reproducible and independent.
            generator = torch.Generator(self.device).manual_seed(_window_seed(seed, window.index))
            with autocast(self.device):
                motion = self.model.sample(chunk.expand(num_samples, -1), window.num_frames, identity=identity,
                                           sampler=self.sampler, steps=self.steps, generator=generator,
                                           identity_guidance=self.guidance)
            motion = motion.float().cpu().numpy()  # (N, W, D)
            for k, stitcher in enumerate(stitchers):
                stitcher.add(window.start, motion[k])
            del motion  # the stitched arrays are all that is kept between windows
        return np.stack([s.result() for s in stitchers])  # (N, T, D)


def _model_rig(config) -> tuple[str, tuple]:
    """The rig name and channel names of the model's motion space, looked up once per Talker."""
    try:
        rig = get_rig(config.rig)
    except PluginError:  # a vertex space from captures (e.g. vocaset) whose rig no plugin registers
        return config.rig, ()
    return rig.name, tuple(rig.shape_names) if len(rig.shape_names) == config.motion_dim else ()


def _window_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed % 2**63, index]).generate_state(1, np.uint64)[0] % 2**63)


def _label(audio) -> str:
    return os.fspath(audio) if isinstance(audio, (str, os.PathLike)) else type(audio).__name__
