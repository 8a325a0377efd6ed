"""Band-limited sample-rate conversion: a windowed-sinc polyphase filter, numpy only.

The filter
----------
A rate change ``sr_in -> sr_out`` is the rational ratio ``L / M`` (``L = sr_out / g``,
``M = sr_in / g``, ``g = gcd``).  Output sample ``k`` sits at input time ``t = k * M / L``
(in input samples) and is

    y[k] = sum_n x[n] * h(n - t),   h(d) = 2 fc sinc(2 fc d) * kaiser(d / W, beta)

* cutoff ``fc = rolloff * min(sr_in, sr_out) / 2`` Hz, i.e. ``rolloff`` of the lower Nyquist, so
  that when downsampling everything above the *output* Nyquist is removed before it can alias;
* ``rolloff = 0.9``: -6 dB at 90 % of that Nyquist (7.2 kHz for 16 kHz output);
* half width ``W = ceil(zero_crossings / (2 fc / sr_in))`` input samples with ``zero_crossings = 32``
  sinc lobes each side, so ``2 W`` taps per output sample (72 taps when upsampling, 196 for
  44.1 kHz -> 16 kHz);
* Kaiser window ``beta = 8.0``: about -80 dB stopband, reached ~0.55 kHz above the cutoff for
  44.1 kHz -> 16 kHz (a 7.9 kHz tone is gone, speech up to ~6.6 kHz is untouched);
* each of the ``L`` phases is normalized to unit DC gain, so silence stays silence and a
  constant stays that constant (to float32 rounding).

Output sample 0 is aligned with input sample 0; the output has ``ceil(n_in * L / M)`` samples.

Speed: the ``L`` phases repeat every ``M`` input samples, so a whole period of ``L`` outputs is
one row of a matrix product of (strided) input windows with a banded ``(K, L)`` kernel matrix.
Phases are cut into groups so that each group's band is at most about twice as wide as the
taps, which keeps the work near ``2 W`` multiply-adds per output even for co-prime rates.
The bank holds about ``L * 4 W`` floats; ratios needing more than 64 MiB (only near-co-prime
rates far above speech rates, e.g. 767999 Hz -> 16 kHz) raise ``ValueError``.

Streaming: :class:`StreamingResampler` keeps the last input samples between calls, so feeding a
signal in blocks gives the same output as feeding it whole (to float32 rounding).
"""
from __future__ import annotations

import functools
import math

import numpy as np

ZERO_CROSSINGS = 32
ROLLOFF = 0.9
KAISER_BETA = 8.0
_MAX_BANK_BYTES = 64 << 20  # real rate pairs (44.1k/16k: 0.1 MiB) stay far below this
_WINDOW_COPY_SAMPLES = 1 << 16  # floats per contiguous copy of input windows (256 KiB)


def _half_width(up: int, down: int) -> int:
    """``W``: input samples each side of an output that hold ``ZERO_CROSSINGS`` sinc lobes."""
    return math.ceil(ZERO_CROSSINGS / (ROLLOFF * min(1.0, up / down)))


def _phase_filters(up: int, down: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The ``(L, 2W)`` polyphase taps, the first-input offset of each phase ``(L,)`` and ``W``."""
    cutoff = ROLLOFF * min(1.0, up / down) / 2  # cycles per input sample
    half_width = _half_width(up, down)
    phases = np.arange(up)
    base = (phases * down) // up  # integer part of each phase's input time
    frac = (phases * down % up) / up  # fractional part, in [0, 1)
    # Tap j of phase r reads input base[r] + j - (W - 1); d is its distance from the output time.
    d = np.arange(2 * half_width)[None, :] - (half_width - 1) - frac[:, None]  # (L, 2W)
    # Kaiser window over |d| <= W; np.kaiser only samples integer grids, so evaluate I0 directly.
    window = np.i0(KAISER_BETA * np.sqrt(np.clip(1 - (d / half_width) ** 2, 0, None))) / np.i0(KAISER_BETA)
    taps = np.sinc(2 * cutoff * d) * window
    taps /= taps.sum(axis=1, keepdims=True)  # unit DC gain per phase
    return taps, base, half_width


@functools.lru_cache(maxsize=16)
def _filter_bank(up: int, down: int) -> tuple[tuple, int, int]:
    """Kernel matrices for groups of neighbouring phases, plus the history and look-ahead in samples.

    Returns ``(groups, history, reach)``: each group is ``(first phase, end phase, input offset,
    kernel (K, phases))``; period ``q`` of ``L`` outputs reads inputs ``q*M - history`` up to
    ``q*M + reach - 1``.  Cached because loading many files at one rate reuses the same bank.
    """
    half_width = _half_width(up, down)
    bank_bytes = up * 4 * half_width * 4  # groups hold at most ~4W rows per phase, float32
    if bank_bytes > _MAX_BANK_BYTES:
        # Only near-co-prime rates far above speech rates get here (e.g. 767999 Hz from a corrupt header).
        raise ValueError(
            f"the rate ratio {up}/{down} is too fine to resample: its filter bank would take {bank_bytes >> 20} MiB"
        )
    taps, base, half_width = _phase_filters(up, down)
    groups = []
    r0 = 0
    while r0 < up:
        r1 = r0 + 1
        # Grow the group while its band of inputs stays under ~twice the taps (bounded waste).
        while r1 < up and base[r1] - base[r0] < 2 * half_width:
            r1 += 1
        width = int(base[r1 - 1] - base[r0]) + 2 * half_width
        kernel = np.zeros((width, r1 - r0), dtype=np.float32)
        for col, r in enumerate(range(r0, r1)):
            shift = int(base[r] - base[r0])
            kernel[shift : shift + 2 * half_width, col] = taps[r]
        kernel.flags.writeable = False  # shared between resamplers through the cache
        groups.append((r0, r1, int(base[r0]) - (half_width - 1), kernel))
        r0 = r1
    return tuple(groups), half_width - 1, int(base[-1]) + half_width + 1


class StreamingResampler:
    """Resample a mono float32 signal fed in blocks of any size: ``process`` each block, then ``flush``.

    The concatenated outputs equal :func:`resample` on the whole signal.  Memory is bounded by the
    block size plus ``M + 2 W`` samples of history, whatever the total length.
    """

    def __init__(self, sr_in: int, sr_out: int):
        """Rates are positive integers in Hz; raises ``ValueError`` for ratios too fine to tabulate."""
        g = math.gcd(int(sr_in), int(sr_out))
        self.up, self.down = int(sr_out) // g, int(sr_in) // g
        self._n_in = 0
        self._n_out = 0
        if self.up == self.down:
            return
        self._groups, self._history, self._reach = _filter_bank(self.up, self.down)
        self._buffer = np.zeros(self._history, dtype=np.float32)  # zeros before the signal starts
        self._buffer_start = -self._history  # input index of _buffer[0]
        self._next_period = 0

    def process(self, block: np.ndarray) -> np.ndarray:
        """Feed ``(n,)`` samples at ``sr_in``; returns the ``(m,)`` float32 outputs now complete."""
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        self._n_in += block.size
        if self.up == self.down:
            self._n_out += block.size
            return block.copy()
        self._buffer = np.concatenate((self._buffer, block))
        return self._run()

    def flush(self) -> np.ndarray:
        """Finish the signal (zeros after its end); returns the last ``(m,)`` outputs."""
        total = -(-self._n_in * self.up // self.down)  # ceil(n_in * L / M)
        if self.up == self.down or self._n_out >= total:
            return np.zeros(0, dtype=np.float32)
        last_period = (total - 1) // self.up
        end = self._buffer_start + self._buffer.size
        missing = last_period * self.down + self._reach - end
        if missing > 0:
            self._buffer = np.concatenate((self._buffer, np.zeros(missing, dtype=np.float32)))
        out = self._run()
        out = out[: max(0, total - (self._n_out - out.size))]  # drop outputs past the signal's end
        self._n_out = total
        return out

    def _run(self) -> np.ndarray:
        """Compute every whole period of ``L`` outputs the buffer holds inputs for."""
        end = self._buffer_start + self._buffer.size
        last_period = (end - self._reach) // self.down
        periods = last_period - self._next_period + 1
        if periods <= 0:
            return np.zeros(0, dtype=np.float32)
        out = np.empty((periods, self.up), dtype=np.float32)
        first_input = self._next_period * self.down - self._buffer_start
        for r0, r1, offset, kernel in self._groups:
            # Row q of `windows` is the kernel's band of inputs for period next + q: a strided view.
            windows = np.lib.stride_tricks.sliding_window_view(self._buffer, kernel.shape[0])
            windows = windows[first_input + offset :: self.down][:periods]  # (periods, K)
            # The rows overlap when K > M (K/M can reach ~70), so copy them a slice at a time.
            step = max(1, _WINDOW_COPY_SAMPLES // kernel.shape[0])
            for q in range(0, periods, step):
                out[q : q + step, r0:r1] = np.ascontiguousarray(windows[q : q + step]) @ kernel
        self._next_period += periods
        keep_from = self._next_period * self.down - self._history - self._buffer_start
        self._buffer = self._buffer[keep_from:].copy()  # copy so the old block can be freed
        self._buffer_start += keep_from
        self._n_out += out.size
        return out.reshape(-1)


def resample(signal: np.ndarray, sr_in: int, sr_out: int, *, block_samples: int = 1 << 18) -> np.ndarray:
    """Resample a mono signal ``(n,)`` from ``sr_in`` to ``sr_out`` Hz; returns float32 ``(ceil(n * sr_out / sr_in),)``.

    Rates are positive integers in Hz.  The signal is fed in blocks of ``block_samples`` so
    temporary memory stays small for long inputs.
    """
    signal = np.asarray(signal).reshape(-1)
    resampler = StreamingResampler(sr_in, sr_out)
    if resampler.up == resampler.down:
        return signal.astype(np.float32)
    pieces = [resampler.process(signal[i : i + block_samples]) for i in range(0, signal.size, block_samples)]
    pieces.append(resampler.flush())
    return np.concatenate(pieces)
