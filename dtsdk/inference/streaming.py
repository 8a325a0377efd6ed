"""Streaming: audio arriving in chunks -> animation frames as soon as they are decided (``Talker.stream``).

The design (docs/streaming.md has the why and the measured figures):

* Audio is accumulated (resampled to the model's rate as it comes, :class:`~dtsdk.audio.StreamingResampler`).
  Every ``hop`` frames of new audio the model runs once on a window ``[E - context, E + hop + lookahead)``,
  ``E`` being the number of frames emitted so far, and the frames ``[E, E + hop)`` are emitted. The last
  ``lookahead`` frames are drawn but not emitted: their audio future is not known yet. The encoder and the
  mean network see the whole window; the sampler only its last ``sampler_s`` (:func:`last_frames`).
* With ``hold="inpaint"`` the frames already emitted are also held fixed in the window (the replacement
  method; RePaint, Lugmayr et al. 2022, arXiv 2201.09865, without resampling): at every sampler step the
  known frames of ``x_t`` are the emitted motion noised to that step, and their clean estimate is the
  emitted motion. This is a wrapper over the sampler contract (:func:`hold_frames`), so every registered
  sampler and objective gets it; for the residual objective the sampler state is the residual from
  ``cond["mean"]``, and so is what is held. Measured, it does worse than the default ``"seam"``.
* A seam correction guarantees continuity whatever the model: the offset between the emitted motion and the
  window's own motion at the last emitted frame is added to the new frames, fading out over the ``hop``
  frames the run decides.
* Starting noise is anchored to absolute frames (blocks drawn from the seed), so a frame starts from the
  same noise in every window that holds it, and the run plan depends only on positions in the stream:
  the frames do not depend on how the audio was cut into chunks (``stream`` of one whole file is the
  offline run of the same plan).
* Memory is bounded: the audio and motion kept are the last ``context + hop + lookahead`` frames' worth.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np
import torch

from dtsdk.errors import AudioError, DtsdkError
from dtsdk.inference.sampling import derived_seed, sample_window, to_rig_units

DEFAULT_HOP_S = 0.2  # how often the model runs (and how many frames each run emits)
DEFAULT_LOOKAHEAD_S = 0.2  # audio after the last emitted frame the model has heard: > the encoder convs' reach
DEFAULT_CONTEXT_S = 4.0  # emitted motion (and its audio) each window keeps before the new frames
NOISE_BLOCK_FRAMES = 32
# How a window continues the emitted frames: "seam" (the default) draws the window from the frames' anchored
# noise and joins it to the emitted motion by the seam correction; "inpaint" also holds the emitted frames in
# the sampler (replacement method). Measured on the default model (docs/streaming.md): inpainting joins worse
# (largest-channel step at run borders, median 0.045 against 0.036 for "seam"; 0.045 elsewhere).
HOLD_MODES = ("seam", "inpaint")
DEFAULT_HOLD = "seam"  # starting noise is drawn per block of absolute frames


@dataclass(frozen=True)
class Frame:
    """One decided animation frame: ``index`` from the start of the stream, ``time_s = index / fps``,
    ``weights`` (K,) in the stream's rig (its ``names``)."""

    index: int
    time_s: float
    weights: np.ndarray


STATS_KEPT = 10_000  # the last values kept per measure, so a stream of hours stays bounded


def _recent() -> deque:
    return deque(maxlen=STATS_KEPT)


@dataclass
class StreamStats:
    """What a stream measured (the last ``STATS_KEPT`` values of each): compute per model run and per pushed
    chunk, chunk durations and per-frame latency, in seconds; totals over the whole stream."""

    hop_s: float
    lookahead_s: float
    run_compute_s: deque = field(default_factory=_recent)
    chunk_compute_s: deque = field(default_factory=_recent)
    chunk_duration_s: deque = field(default_factory=_recent)
    frame_latency_s: deque = field(default_factory=_recent)  # audio position of its run - its time + compute
    total_compute_s: float = 0.0
    total_audio_s: float = 0.0
    runs: int = 0
    chunks: int = 0

    @property
    def algorithmic_latency_s(self) -> float:
        """Worst case from a frame's audio arriving to the frame being decided, compute left out: the
        look-ahead, plus up to one hop of waiting for the next run."""
        return self.lookahead_s + self.hop_s

    def summary(self) -> dict:
        def ms(values, q):
            return round(1000 * float(np.percentile(values, q)), 2) if values else None

        load = self.total_compute_s / max(self.total_audio_s, 1e-9)
        return {"hop_ms": round(1000 * self.hop_s, 1), "lookahead_ms": round(1000 * self.lookahead_s, 1),
                "algorithmic_latency_ms": round(1000 * self.algorithmic_latency_s, 1),
                "latency_ms_median": ms(self.frame_latency_s, 50), "latency_ms_max": ms(self.frame_latency_s, 100),
                "runs": self.runs, "run_compute_ms_median": ms(self.run_compute_s, 50),
                "run_compute_ms_max": ms(self.run_compute_s, 100),
                "chunks": self.chunks, "chunk_ms_median": ms(self.chunk_duration_s, 50),
                "chunk_compute_ms_mean": round(1000 * float(np.mean(self.chunk_compute_s)), 2)
                if self.chunk_compute_s else None,
                "chunk_compute_ms_max": ms(self.chunk_compute_s, 100),
                "compute_per_audio": round(load, 4)}


def hold_frames(known: torch.Tensor, noise: torch.Tensor, record: dict):
    """A sampler wrapper that holds the first K frames of the window at ``known`` (B, K, D), normalised
    whole motion; ``noise`` (B, T, D) is the window's starting noise. ``record["raw"]`` gets the
    denoiser's last clean estimate before replacement and ``record["offset"]`` what the sampler's state is
    relative to (the residual objective's ``cond["mean"]``), for the seam correction."""
    K = known.shape[1]

    def wrap(sample_fn):
        def sample(denoise, x, schedule, cond, **kwargs):
            offset = cond.get("mean")  # (B, T, D): the sampler state is the residual from it
            record["offset"] = offset
            target = known if offset is None else known - offset[:, :K]  # (B, K, D), the sampler's space
            start = noise.to(x)

            def held(x_t, t, c):
                if K:
                    abar = schedule.abar(t, x_t)  # (B, 1, 1)
                    noised = abar.sqrt() * target.to(x_t) + (1 - abar).sqrt() * start[:, :K]
                    x_t = torch.cat([noised, x_t[:, K:]], dim=1)  # (B, T, D)
                x0 = denoise(x_t, t, c)  # (B, T, D)
                record["raw"] = x0
                return torch.cat([target.to(x0), x0[:, K:]], dim=1) if K else x0
            return sample_fn(held, start, schedule, cond, **kwargs)
        return sample
    return wrap


def last_frames(frames: int):
    """A sampler wrapper that runs the sampler on the last ``frames`` frames of the window only: per-frame
    tensors of ``cond`` (``(B, T, ...)``: audio features, the residual's mean) and the starting noise are cut
    to them, and the result is padded back with zeros (the sampler state of frames nobody reads)."""
    def wrap(sample_fn):
        def sample(denoise, x, schedule, cond, **kwargs):
            T = x.shape[1]
            if frames >= T:
                return sample_fn(denoise, x, schedule, cond, **kwargs)
            cut = {key: value[:, T - frames:] if isinstance(value, torch.Tensor) and value.dim() >= 2
                   and value.shape[1] == T else value for key, value in cond.items()}
            out = sample_fn(denoise, x[:, T - frames:], schedule, cut, **kwargs)  # (B, frames, D)
            return torch.cat([out.new_zeros(x.shape[0], T - frames, x.shape[2]), out], dim=1)  # (B, T, D)
        return sample
    return wrap


def seam_fade(length: int) -> np.ndarray:
    """Weights (length,) falling from near 1 to near 0 (raised cosine at frame centres)."""
    t = (np.arange(length, dtype=np.float64) + 0.5) / max(length, 1)
    return (0.5 + 0.5 * np.cos(np.pi * t)).astype(np.float32)


class AnimationStream:
    """Push audio chunks, get decided frames back; or iterate over it when made with ``chunks``.

    ``push(chunk) -> list[Frame]`` takes a chunk (S,) or (S, channels) at ``sr`` (float in [-1, 1] or
    int PCM); ``finish() -> list[Frame]`` ends the stream and returns the rest. Made by
    :meth:`dtsdk.inference.Talker.stream`; ``names``, ``fps``, ``rig`` describe the frames and ``stats``
    holds what was measured.
    """

    def __init__(self, talker, sr: int, chunks: Iterable | None = None, *, seed: int | None = None,
                 identity=..., hop_s: float = DEFAULT_HOP_S, lookahead_s: float = DEFAULT_LOOKAHEAD_S,
                 context_s: float = DEFAULT_CONTEXT_S, hold: str = DEFAULT_HOLD, sampler_s: float | None = None,
                 rig=None):
        from dtsdk.audio import StreamingResampler
        from dtsdk.identities import check_identity
        from dtsdk.rigs import get_rig

        self.talker, self.model, config = talker, talker.model, talker.config
        self.fps, self.sample_rate = config.fps, config.sample_rate
        self.hop, self.lookahead = round(hop_s * self.fps), round(lookahead_s * self.fps)
        self.context = round(context_s * self.fps)
        sampler_s = config.train_window_s if sampler_s is None else sampler_s
        self.sampler_frames = max(1, round(sampler_s * self.fps))
        if self.hop < 1 or self.lookahead < 0 or self.context < 0:
            raise DtsdkError(f"stream: hop_s={hop_s} must give at least one frame at {self.fps:g} fps, "
                             f"lookahead_s={lookahead_s} and context_s={context_s} must be at least 0")
        if hold not in HOLD_MODES:
            raise DtsdkError(f"stream: hold={hold!r}; choose one of {', '.join(HOLD_MODES)}")
        self.hold = hold
        self.identity_request = talker.identity if identity is ... else check_identity(self.model, identity)
        self.identity = None  # resolved at the first run ("auto": on that window's audio)
        if seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        self.seed = seed
        if isinstance(sr, bool) or not isinstance(sr, (int, float, np.integer)) or sr != int(sr) or sr < 1:
            raise AudioError(f"stream: sr must be the chunks' sample rate, a whole number of Hz, got {sr!r}")
        self.sr = int(sr)
        try:
            self._resampler = StreamingResampler(self.sr, self.sample_rate)
        except ValueError as exc:
            raise AudioError(f"stream: {self.sr} Hz cannot be converted to {self.sample_rate} Hz ({exc})") from None
        self._target = None if rig is None else get_rig(rig)
        rig_name, names = talker.model_rig
        self.rig, self.names = rig_name, names
        if self._target is not None:
            self.rig, self.names = self._target.name, tuple(self._target.shape_names)
        self.stats = StreamStats(self.hop / self.fps, self.lookahead / self.fps)
        self._chunks = chunks
        self._audio = np.zeros(0, np.float32)  # samples [_audio_start, _received) at the model's rate
        self._audio_start = 0
        self._received = 0
        self._history = torch.zeros(1, 0, config.motion_dim)  # normalised emitted motion, frames [_history_start, E)
        self._history_start = 0
        self._emitted = 0
        self._runs = 0
        self._noise: dict[int, torch.Tensor] = {}
        self._finished = False

    # ---- the push API ----------------------------------------------------------------------------
    def push(self, chunk) -> list[Frame]:
        """Feed one chunk; returns the frames it decided (often none: a run happens every hop)."""
        from dtsdk.audio import load_audio

        if self._finished:
            raise DtsdkError("stream: push() after finish(); start a new stream with Talker.stream")
        started = time.perf_counter()
        if isinstance(chunk, torch.Tensor):
            chunk = chunk.detach().cpu().numpy()
        chunk = np.asarray(chunk)
        frames: list[Frame] = []
        if chunk.size:
            label = f"stream chunk {self.stats.chunks}"
            mono = load_audio(chunk, sr=self.sr, source_sr=self.sr, name=label)  # scaled, downmixed, checked
            self.stats.chunk_duration_s.append(len(mono) / self.sr)
            self._append(self._resampler.process(mono))
            while self._received >= self._sample(self._emitted + self.hop + self.lookahead):
                frames += self._run(self._emitted + self.hop + self.lookahead, self._emitted + self.hop)
            self.stats.chunk_compute_s.append(time.perf_counter() - started)
            self.stats.total_compute_s += self.stats.chunk_compute_s[-1]
            self.stats.total_audio_s += len(mono) / self.sr
            self.stats.chunks += 1
        return frames

    def finish(self) -> list[Frame]:
        """End of the audio: decide every frame left (the audio's ``round(duration_s * fps)`` frames in all)."""
        if self._finished:
            return []
        self._finished = True
        started = time.perf_counter()
        self._append(self._resampler.flush())
        total = max(1, round(self._received / self.sample_rate * self.fps))
        frames = [] if self._emitted >= total else self._run(total, total)
        self.stats.total_compute_s += time.perf_counter() - started
        return frames

    def __iter__(self) -> Iterator[Frame]:
        if self._chunks is None:
            raise DtsdkError("stream: made without chunks; feed it with push() and finish()")
        chunks, self._chunks = self._chunks, None
        for chunk in chunks:
            yield from self.push(chunk)
        yield from self.finish()

    def animation(self, frames: list[Frame]):
        """Frames collected from this stream -> one :class:`~dtsdk.animation.Animation`."""
        from dtsdk.animation import Animation

        weights = np.stack([f.weights for f in frames]) if frames else np.zeros((0, len(self.names)), np.float32)
        return Animation(weights, self.names, self.fps, self.rig, meta=self.meta())

    def meta(self) -> dict:
        chosen = self.identity
        return {"identity": None if chosen is None else chosen.name,
                "identity_source": None if chosen is None else chosen.source,
                "identity_confidence": None if chosen is None else chosen.confidence,
                "seed": self.seed, "sampler": self.talker.sampler, "steps": self.talker.steps,
                "guidance": self.talker.guidance, "model": self.talker.model_name, "stream": self.stats.summary()}

    # ---- internals -------------------------------------------------------------------------------
    def _sample(self, frame: int) -> int:
        return round(frame / self.fps * self.sample_rate)

    def _append(self, samples: np.ndarray) -> None:
        if samples.size:
            self._audio = np.concatenate([self._audio, samples.astype(np.float32)])
            self._received += samples.size

    def _starting_noise(self, start: int, end: int) -> torch.Tensor:
        """The starting noise of absolute frames [start, end) -> (1, end - start, D), the same in every window."""
        first, last = start // NOISE_BLOCK_FRAMES, (end - 1) // NOISE_BLOCK_FRAMES
        for block in range(first, last + 1):
            if block not in self._noise:
                generator = torch.Generator().manual_seed(derived_seed(self.seed, "stream-noise", block))
                self._noise[block] = torch.randn(1, NOISE_BLOCK_FRAMES, self.config_dim, generator=generator)
        for block in [b for b in self._noise if b < first]:
            del self._noise[block]  # memory stays bounded
        noise = torch.cat([self._noise[b] for b in range(first, last + 1)], dim=1)
        offset = start - first * NOISE_BLOCK_FRAMES
        return noise[:, offset:offset + end - start]

    @property
    def config_dim(self) -> int:
        return self.model.config.motion_dim

    def _run(self, end: int, emit_to: int) -> list[Frame]:
        """Run the model on the window [E - context, end) and emit the frames [E, emit_to)."""
        started = time.perf_counter()
        talker, device = self.talker, self.talker.device
        emitted = self._emitted
        start = max(0, emitted - self.context)
        a, b = self._sample(start) - self._audio_start, self._sample(end) - self._audio_start
        wave = self._audio[a:b]
        if len(wave) < b - a:  # the last window may reach past the audio: silence, as offline
            wave = np.pad(wave, (0, b - a - len(wave)))
        wave_t = torch.from_numpy(np.ascontiguousarray(wave))[None]  # (1, S_w)
        num_frames = end - start
        with torch.inference_mode():
            if self.identity is None:
                self.identity = talker.resolve_identity(self.identity_request, wave_t, num_frames)
            known = self._history[:, start - self._history_start:].to(device)  # (1, K, D)
            K = known.shape[1]
            noise = self._starting_noise(start, end).to(device)  # (1, W, D)
            generator = torch.Generator(device).manual_seed(derived_seed(self.seed, "stream-run", self._runs))
            record: dict = {}
            # "seam": the window starts from the frames' anchored noise and is drawn freely; "inpaint" holds the
            # known frames. Either way the seam correction below joins the new frames to the emitted ones.
            # The encoder and the mean network see the whole window (the lips need the context); the sampler
            # runs on its last frames only (the new frames and the last emitted one among them): from `cut` on.
            cut = max(0, min(num_frames - self.sampler_frames, K - 1))
            held = known[:, cut:] if self.hold == "inpaint" else known[:, :0]
            hold = hold_frames(held, noise[:, cut:], record)
            sampler_frames = num_frames - cut
            with talker.autocast():
                x0 = sample_window(self.model, wave_t, num_frames, self.identity, talker.sampler, talker.steps,
                                   generator, talker.guidance,
                                   wrap=lambda sample_fn: last_frames(sampler_frames)(hold(sample_fn)))
            x0 = x0.float()  # (1, W, D) normalised
            if K:
                raw = record.get("raw")
                if raw is None or self.hold != "inpaint":  # the window's own motion at the last known frame
                    estimate = x0[:, K - 1]
                else:
                    offset = record.get("offset")
                    estimate = raw[:, K - 1 - cut].float() + (0 if offset is None else offset[:, K - 1 - cut].float())
                jump = known[:, K - 1] - estimate  # (1, D)
                # The correction fades out within the frames this run decides: a longer fade would carry into the
                # next run's start and accumulate any bias of a window's last frames (measured: a mouth left ajar
                # in silence, jawOpen 0.074 with a fade over hop + lookahead against 0.028 over the hop).
                fade = np.zeros(num_frames - K, np.float32)
                fade[:min(self.hop, len(fade))] = seam_fade(min(self.hop, len(fade)))
                fade = torch.from_numpy(fade).to(x0)[None, :, None]  # (1, W - K, 1)
                new = x0[:, K:] + jump[:, None] * fade  # (1, W - K, D)
            else:
                new = x0
            new = new[:, :emit_to - emitted].cpu()  # (1, N, D), the frames decided now
            motion = to_rig_units(self.model, new.to(device)).cpu().numpy()[0]  # (N, D)
        self._keep(new, emit_to)
        self._runs += 1
        compute = time.perf_counter() - started
        self.stats.run_compute_s.append(compute)
        self.stats.runs += 1
        # A frame's latency: from its moment in the audio to its decision (the audio the run waited for + compute).
        self.stats.frame_latency_s += [(end - f) / self.fps + compute for f in range(emitted, emit_to)]
        return self._frames(emitted, motion)

    def _keep(self, new: torch.Tensor, emitted: int) -> None:
        """Append the emitted frames to the history and drop what no later window reaches."""
        self._history = torch.cat([self._history, new], dim=1)
        self._emitted = emitted
        keep_from = max(0, emitted - self.context)
        drop = keep_from - self._history_start
        if drop > 0:
            self._history = self._history[:, drop:]
            self._history_start = keep_from
        drop_samples = self._sample(keep_from) - self._audio_start
        if drop_samples > 0:
            self._audio = self._audio[drop_samples:].copy()
            self._audio_start += drop_samples

    def _frames(self, first: int, motion: np.ndarray) -> list[Frame]:
        if self.model.config.is_arkit:
            motion = np.clip(motion, 0.0, 1.0)  # as Talker.animate: ARKit weights are 0..1 by definition
        if self._target is not None:
            from dtsdk.animation import Animation

            rig_name, names = self.talker.model_rig
            motion = Animation(motion, names, self.fps, rig_name).to_rig(self._target).weights
        return [Frame(first + i, (first + i) / self.fps, motion[i]) for i in range(len(motion))]

