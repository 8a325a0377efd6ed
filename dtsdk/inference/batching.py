"""Batched windows with per-window randomness: the result of each window is the one it gets alone.

Windows of equal length (from one long file or from many files) are stacked into one batch: the audio
encoder, the identity embeddings and the residual mean run once for the batch. A sampler draws its
noise from *one* generator, though, so a batch of windows would not draw what each window draws alone
with its own seed. :func:`shared_denoiser` keeps the windows' own randomness: it runs one sampler loop
per window (a thread each, with that window's generator and starting noise) and gathers their denoiser
calls into one batched pass per step. Only the pass runs torch compute of any size, one at a time,
so the threads do not oversubscribe the CPU. Every registered sampler works unchanged; the rows of a
batch must take the same number of denoiser calls (the same sampler and steps, as in one Talker call).
"""
from __future__ import annotations

import contextlib
import threading
from typing import Callable

import torch


class _StepGatherer:
    """Collects one denoiser call from every live sampler loop, runs them as one batch, hands back the rows."""

    def __init__(self, denoise: Callable, cond: dict, bounds: list[int]):
        self.denoise, self.cond, self.bounds = denoise, cond, bounds
        self.live = set(range(len(bounds) - 1))
        self.pending: dict[int, tuple] = {}
        self.outputs: dict[int, object] = {}
        self.condition = threading.Condition()

    def call(self, job: int, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        with self.condition:
            self.pending[job] = (x_t, t)
            self._run_if_complete()
            while job not in self.outputs:
                self.condition.wait()
            out = self.outputs.pop(job)
        if isinstance(out, BaseException):
            raise out
        return out

    def done(self, job: int) -> None:
        with self.condition:
            self.live.discard(job)
            self._run_if_complete()

    def _run_if_complete(self) -> None:
        if not self.pending or len(self.pending) < len(self.live):
            return
        jobs = sorted(self.pending)
        rows = [(self.bounds[j], self.bounds[j + 1]) for j in jobs]
        x_t = torch.cat([self.pending[j][0] for j in jobs])  # (B', T, D)
        t = torch.cat([self.pending[j][1] for j in jobs])  # (B',)
        cond = self.cond if len(jobs) == len(self.bounds) - 1 else _rows(self.cond, rows)
        try:
            out = self.denoise(x_t, t, cond)  # (B', T, D)
            start = 0
            for j in jobs:
                n = self.pending[j][0].shape[0]
                self.outputs[j] = out[start:start + n]
                start += n
        except BaseException as exc:  # every waiting loop raises it
            for j in jobs:
                self.outputs[j] = exc
        self.pending.clear()
        self.condition.notify_all()


def _rows(cond: dict, rows: list[tuple[int, int]]) -> dict:
    """cond restricted to the row ranges ``rows`` (tensors with a batch dimension; other values as they are)."""
    return {key: torch.cat([value[a:b] for a, b in rows]) if isinstance(value, torch.Tensor) else value
            for key, value in cond.items()}


def shared_denoiser(row_counts: list[int], generators: list[torch.Generator], context: Callable | None = None):
    """A sampler wrapper (for :func:`dtsdk.inference.sampling.sample_window`) over a batch made of
    ``len(row_counts)`` windows stacked in order, window j having ``row_counts[j]`` rows (its samples).

    Window j's loop draws its starting noise as ``DiffusionObjective.generate`` does for it alone,
    ``randn(rows, T, D, generator=generators[j])``, and samples with that generator. ``context()``: a
    context manager each loop runs in (grad and autocast modes are per thread in torch).
    """
    bounds = [0]
    for n in row_counts:
        bounds.append(bounds[-1] + n)
    context = context or contextlib.nullcontext

    def wrap(sample_fn):
        def sample(denoise, x, schedule, cond, **kwargs):
            kwargs.pop("generator", None)
            gatherer = _StepGatherer(denoise, cond, bounds)
            results: list = [None] * len(row_counts)
            errors: list[BaseException] = []

            def loop(j: int) -> None:
                try:
                    with context():
                        a, b = bounds[j], bounds[j + 1]
                        start = torch.randn(b - a, *x.shape[1:], generator=generators[j], device=x.device)
                        results[j] = sample_fn(lambda x_t, t, _cond: gatherer.call(j, x_t, t), start.to(x.dtype),
                                               schedule, _rows(cond, [(a, b)]), generator=generators[j], **kwargs)
                except BaseException as exc:
                    errors.append(exc)
                finally:
                    gatherer.done(j)

            threads = [threading.Thread(target=loop, args=(j,), daemon=True) for j in range(len(row_counts))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if errors:
                raise errors[0]
            return torch.cat(results)  # (B, T, D)
        return sample
    return wrap
