"""``Talker``: speech in, :class:`~dtsdk.animation.Animation` out, with a DiffusionTalker checkpoint.

    from dtsdk.inference import Talker
    talker = Talker("checkpoints/teacher", identity="auto")
    anim = talker.animate("speech.wav", seed=0)
    anim.save("speech.glb")

Audio of any length goes through :mod:`dtsdk.inference.windows` (overlapping windows, crossfaded);
many files at once through :meth:`Talker.animate_batch`; audio arriving in chunks through
:meth:`Talker.stream` (:mod:`dtsdk.inference.streaming`).

Runtime choices, and why: sampling runs under ``torch.inference_mode``; each window's audio is encoded
once; on CUDA under autocast (bf16) and, with ``compile=True``, ``torch.compile`` on the denoiser and
the mean network; windows of equal length are batched (``batch_windows``). Threads: torch's
intra-op pool is process-wide, so ``Talker`` leaves it as the application set it
(``OMP_NUM_THREADS``, ``torch.set_num_threads``) and changes it only when asked (``threads=N``) or
when torch's default (one per core of the machine) exceeds the CPUs this process may use (a CPU
affinity mask or a container's CPU quota), which would oversubscribe them.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from dtsdk.animation import Animation
from dtsdk.errors import AudioError, DtsdkError, PluginError
from dtsdk.identities import ResolvedIdentity, check_identity, is_auto, resolve_identity
from dtsdk.inference.batching import shared_denoiser
from dtsdk.inference.sampling import derived_seed, sample_window, to_rig_units
from dtsdk.inference.streaming import (DEFAULT_CONTEXT_S, DEFAULT_HOLD, DEFAULT_HOP_S, DEFAULT_LOOKAHEAD_S,
                                       AnimationStream)
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
MAX_BATCH_WINDOWS = 16  # windows stacked into one batch (bounds the memory of a batch)


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
    ``threads``: torch's CPU threads (``None``: as the application set them, capped at the CPUs this process
    may use). ``compile``: ``torch.compile`` the denoiser and mean network (CUDA only; the first windows
    of each new length take longer while it compiles). ``batch_windows``: stack windows of equal length
    into one batch (``None``: yes; measured on a busy 2-core CPU at ddim 8, 8 clips of 2 s in 0.54 s
    against 1.78 s one window at a time, 60 s in 2.3 s against 4.9 s). Results are the same either way.
    """

    def __init__(self, model=None, identity=None, sampler: str | None = None, steps: int | None = None,
                 device=None, *, guidance: float = 1.0, window_s: float = DEFAULT_WINDOW_S,
                 overlap_s: float = DEFAULT_OVERLAP_S,
                 max_duration_s: float = DEFAULT_MAX_DURATION_S, match_enrolled: bool = True,
                 threads: int | None = None, compile: bool = False, batch_windows: bool | None = None):
        self.device = resolve_device(device)
        if compile and self.device.type != "cuda":
            raise DtsdkError(f"compile=True: torch.compile is used on CUDA only, this Talker runs on {self.device}; "
                             "leave compile off on CPU (fewer sampler steps are what speed it up there)")
        self.threads = configure_threads(threads) if self.device.type == "cpu" else torch.get_num_threads()
        self.model, self.model_name = load_model(model)
        self.model.to(self.device)
        self.compiled = bool(compile)
        if compile:
            for module in (self.model.denoiser, getattr(self.model, "mean_net", None)):
                if module is not None:
                    module.compile(dynamic=True)  # in place: parameter names and checkpoints stay as they are
        self.batch_windows = True if batch_windows is None else bool(batch_windows)
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
        return self.animate_batch([audio], sr=sr, seed=seed, num_samples=num_samples, identity=identity, rig=rig)[0]

    def animate_batch(self, audios, sr: int | None = None, seed=None, num_samples: int = 1, identity=..., rig=None):
        """Many clips -> one result per clip, each what :meth:`animate` gives it with the same seed (to 1e-5).

        ``audios``: a list of paths, bytes or arrays (arrays all at ``sr``). ``seed``: one seed for every clip,
        a list with one per clip, or ``None`` (drawn per clip). With ``batch_windows`` the windows of equal
        length of all the clips run as one batch (at most ``MAX_BATCH_WINDOWS`` at a time); the clips are
        read first, so their audio is held in memory together.
        """
        audios = list(audios)
        identity = self.identity if identity is ... else check_identity(self.model, identity)
        if num_samples < 1:
            raise DtsdkError(f"num_samples must be at least 1, got {num_samples}")
        seeds = list(seed) if isinstance(seed, (list, tuple)) else [seed] * len(audios)
        if len(seeds) != len(audios):
            raise DtsdkError(f"animate_batch: got {len(seeds)} seeds for {len(audios)} clips; "
                             "give one seed or one per clip")
        target = None if rig is None else get_rig(rig)  # looked up once for all clips (a Rig passes through)
        with torch.inference_mode():
            clips = []
            for audio, clip_seed in zip(audios, seeds):
                wave = self.load(audio, sr)  # (S,)
                num_frames = max(1, round(len(wave) / self.config.sample_rate * self.config.fps))
                if clip_seed is None:  # drawn from torch's RNG, so torch.manual_seed still makes a run repeatable
                    clip_seed = int(torch.randint(0, 2**62, (1,)).item())
                wave_t = torch.from_numpy(wave)[None]  # (1, S)
                clips.append(_Clip(wave_t, num_frames, self.resolve_identity(identity, wave_t, num_frames),
                                   clip_seed))
            motions = self._sample_clips(clips, num_samples)  # per clip (N, T, D)
        return [self._animations(clip, motion, num_samples, target) for clip, motion in zip(clips, motions)]

    def stream(self, chunks=None, sr: int = 16000, *, seed: int | None = None, identity=...,
               hop_s: float = DEFAULT_HOP_S, lookahead_s: float = DEFAULT_LOOKAHEAD_S,
               context_s: float = DEFAULT_CONTEXT_S, hold: str = DEFAULT_HOLD, sampler_s: float | None = None,
               rig=None) -> AnimationStream:
        """Audio arriving in chunks -> frames as soon as they are decided (docs/streaming.md).

        ``chunks``: an iterable of arrays (S,) or (S, channels) at ``sr`` Hz (any sizes, e.g. 20-200 ms);
        iterate over the result to get :class:`~dtsdk.inference.streaming.Frame` objects. Without ``chunks``,
        feed it with ``push(chunk)`` (returns the frames decided) and ``finish()``. Every ``hop_s`` of audio
        the model runs on the last ``context_s`` of emitted motion + the new audio + ``lookahead_s`` more,
        and the hop's frames come out: a frame is decided at most ``lookahead_s + hop_s`` after its audio
        arrived (plus compute). ``hold``: ``"seam"`` (default) or ``"inpaint"``, how a window continues the
        emitted frames (docs/streaming.md). ``sampler_s``: the sampler runs on the window's last ``sampler_s``
        only (default the model's training crop, ``config.train_window_s``); the encoder and the mean network
        see the whole window. The sampler, steps and guidance are the Talker's; one sample.
        ``identity="auto"`` is matched on the first window's audio.
        """
        return AnimationStream(self, sr, chunks, seed=seed, identity=identity, hop_s=hop_s, lookahead_s=lookahead_s,
                               context_s=context_s, hold=hold, sampler_s=sampler_s, rig=rig)

    def autocast(self):
        """The autocast context of this Talker's device (bf16 on CUDA, none on CPU)."""
        return autocast(self.device)

    # ---- internals -----------------------------------------------------------------------------
    def resolve_identity(self, identity, wave: torch.Tensor, num_frames: int) -> ResolvedIdentity:
        """Resolve the identity ONCE per clip, so every window of a long file speaks in the same style;
        ``"auto"`` is matched on the clip's first ``AUTO_MATCH_S`` seconds. wave: (1, S)."""
        features = None
        if is_auto(identity):
            samples = min(wave.shape[1], int(AUTO_MATCH_S * self.config.sample_rate))
            frames = max(1, min(num_frames, round(samples / self.config.sample_rate * self.config.fps)))
            with torch.no_grad(), self.autocast():
                features = self.model.encoder(wave[:, :samples].to(self.device), frames).float()  # (1, T, D_audio)
        with torch.no_grad():
            return resolve_identity(self.model, identity, 1, features, enrolled=self.match_enrolled)[0]

    def _animations(self, clip: "_Clip", motion: np.ndarray, num_samples: int, target):
        rig_name, names = self.model_rig
        if self.config.is_arkit:
            # ARKit coefficients are 0..1 by definition; sampled motion overshoots by a few hundredths
            # (resting channels dip below 0, a blink peaks above 1), which a rig shows as inverted shapes.
            motion = np.clip(motion, 0.0, 1.0)
        chosen = clip.identity
        meta = {"identity": chosen.name, "identity_source": chosen.source, "identity_confidence": chosen.confidence,
                "seed": clip.seed, "sampler": self.sampler, "steps": self.steps,
                "guidance": self.guidance,
                "model": self.model_name, "windows": len(self._windows(clip.num_frames))}
        animations = []
        for k in range(num_samples):
            anim = Animation(motion[k], names, self.config.fps, rig_name, meta={**meta, "sample": k})
            animations.append(anim.to_rig(target) if target is not None else anim)
        return animations[0] if num_samples == 1 else animations

    def _windows(self, num_frames: int):
        return plan_windows(num_frames, self.window_frames, self.overlap_frames)

    def _sample_clips(self, clips: list["_Clip"], num_samples: int) -> list[np.ndarray]:
        """Sample every window of every clip and stitch them -> per clip (N, T, D) in rig units."""
        sr, fps = self.config.sample_rate, self.config.fps
        stitchers = [[Stitcher(clip.num_frames, self.config.motion_dim) for _ in range(num_samples)] for clip in clips]
        jobs = []  # (clip index, window, first sample, last sample)
        for c, clip in enumerate(clips):
            for window in self._windows(clip.num_frames):
                jobs.append((c, window, round(window.start / fps * sr), round(window.end / fps * sr)))
        if not self.batch_windows:
            groups = [[job] for job in jobs]
        else:  # equal lengths (frames and samples) and the same guidance path run as one batch, in clip order
            by_shape: dict = {}
            for job in jobs:
                c, window, a, b = job
                by_shape.setdefault((window.num_frames, b - a, clips[c].identity.is_generic), []).append(job)
            groups = [group[i:i + MAX_BATCH_WINDOWS] for group in by_shape.values()
                      for i in range(0, len(group), MAX_BATCH_WINDOWS)]
            groups.sort(key=lambda group: jobs.index(group[0]))  # windows stitch in order within a clip
        for group in groups:
            motion = self._sample_group(clips, group, num_samples)  # (len(group) * N, W, D)
            for j, (c, window, _, _) in enumerate(group):
                for k, stitcher in enumerate(stitchers[c]):
                    stitcher.add(window.start, motion[j * num_samples + k])
            del motion  # the stitched arrays are all that is kept between windows
        return [np.stack([s.result() for s in per_clip]) for per_clip in stitchers]

    def _sample_group(self, clips: list["_Clip"], group: list, num_samples: int) -> np.ndarray:
        """Windows of equal length -> motion (len(group) * num_samples, W, D) in rig units, float32 numpy;
        each window with its own per-window seed derived from its clip's seed."""
        chunks, identities, generators = [], [], []
        for c, window, a, b in group:
            clip = clips[c]
            chunk = clip.wave[:, a:b]  # (1, S_w); the last window may reach past the audio: pad with silence
            if chunk.shape[1] < b - a:
                chunk = torch.nn.functional.pad(chunk, (0, b - a - chunk.shape[1]))
            chunks.append(chunk.expand(num_samples, -1))
            identities += [clip.identity] * num_samples
            # Per-window seed derived from the call seed: windows are reproducible and independent.
            generators.append(torch.Generator(self.device).manual_seed(derived_seed(clip.seed, "window",
                                                                                   window.index)))
        num_frames = group[0][1].num_frames
        identity = identities[0] if len(group) == 1 else identities
        wrap, generator = None, generators[0]
        if len(group) > 1:
            wrap = shared_denoiser([num_samples] * len(group), generators, context=self._thread_context)
            generator = torch.Generator(self.device).manual_seed(0)  # draws the batch noise the loops replace
        with self.autocast():
            x0 = sample_window(self.model, torch.cat(chunks), num_frames, identity, self.sampler, self.steps,
                               generator, self.guidance, wrap=wrap)  # (B, W, D) normalised
            motion = to_rig_units(self.model, x0)
        return motion.float().cpu().numpy()

    def _thread_context(self):
        """What a sampler loop in another thread runs under (torch's grad and autocast modes are per thread)."""
        import contextlib

        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        stack.enter_context(self.autocast())
        return stack


class _Clip:
    """One clip of a batch: its audio (1, S), frame count, resolved identity and seed."""

    def __init__(self, wave: torch.Tensor, num_frames: int, identity: ResolvedIdentity, seed: int):
        self.wave, self.num_frames, self.identity, self.seed = wave, num_frames, identity, seed


def configure_threads(threads: int | None) -> int:
    """Set torch's CPU threads to ``threads``; with ``None`` leave them unless they exceed the CPUs this
    process may use (then cap them there, as torch counts the machine's cores). Returns the count in use."""
    if threads is not None:
        if int(threads) < 1:
            raise DtsdkError(f"threads must be at least 1, got {threads}")
        torch.set_num_threads(int(threads))
    elif torch.get_num_threads() > usable_cpus():
        torch.set_num_threads(usable_cpus())
    return torch.get_num_threads()


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask, lowered by a cgroup v2 CPU quota when there is one."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


def _model_rig(config) -> tuple[str, tuple]:
    """The rig name and channel names of the model's motion space, looked up once per Talker."""
    try:
        rig = get_rig(config.rig)
    except PluginError:  # a vertex space from captures (e.g. vocaset) whose rig no plugin registers
        return config.rig, ()
    return rig.name, tuple(rig.shape_names) if len(rig.shape_names) == config.motion_dim else ()


def _label(audio) -> str:
    return os.fspath(audio) if isinstance(audio, (str, os.PathLike)) else type(audio).__name__
