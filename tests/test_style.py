"""Speaker styles: the prior, serialization, and what each style does to the face."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import yaml

from dtsdk.corpus.articulation import articulate
from dtsdk.corpus.phones import PhoneSegment
from dtsdk.corpus.style import STYLE_PRIOR, SpeakerStyle, apply_style, sample_style
from dtsdk.rigs.arkit import ARKIT52, arkit_index

SR, FPS = 16000, 30.0


def _phones(spec: str) -> list[PhoneSegment]:
    out, t = [], 0.0
    for item in spec.split():
        phone, ms = item.split(":")
        seg = PhoneSegment(phone, t, t + float(ms) / 1000)
        out.append(PhoneSegment(phone, seg.start_s, seg.end_s, 1 if seg.is_vowel else -1))
        t = seg.end_s
    return out


def _audio(phones: list[PhoneSegment]) -> np.ndarray:
    n = int(round(phones[-1].end_s * SR))
    t = np.arange(n) / SR
    audio = np.zeros(n, np.float32)
    for p in phones:
        if p.phone != "sil":
            a, b = int(p.start_s * SR), int(p.end_s * SR)
            audio[a:b] = 0.1 * np.sin(2 * np.pi * 130 * t[a:b])
    return audio


SPREAD = _phones("sil:200 s:100 iy:200 m:80 iy:200 t:80 ae:200 sil:400")


def test_at_least_ten_parameters_each_with_a_documented_prior():
    fields = [f.name for f in dataclasses.fields(SpeakerStyle)]
    assert len(fields) >= 10 and list(STYLE_PRIOR) == fields
    doc = SpeakerStyle.__doc__
    for name in fields:
        assert f"``{name}``" in doc, f"{name} is not documented"


def test_samples_fall_inside_the_prior_and_vary():
    styles = [sample_style(np.random.default_rng(seed)) for seed in range(300)]
    for name, (kind, low, high) in STYLE_PRIOR.items():
        values = np.array([getattr(s, name) for s in styles])
        assert values.min() >= low - 1e-9 and values.max() <= high + 1e-9, name
        # the prior is used, not collapsed to one value: draws spread over most of the range
        assert np.percentile(values, 95) - np.percentile(values, 5) > 0.4 * (high - low), name
    assert sample_style(np.random.default_rng(4)) == sample_style(np.random.default_rng(4))
    assert len({s for s in styles}) == len(styles)


def test_to_dict_from_dict_round_trip_through_yaml():
    style = sample_style(np.random.default_rng(11))
    data = style.to_dict()
    assert all(type(v) is float for v in data.values())
    back = SpeakerStyle.from_dict(yaml.safe_load(yaml.safe_dump(data)))
    assert back == style
    assert SpeakerStyle.from_dict({"jaw_gain": 1.2}) == SpeakerStyle(jaw_gain=1.2)
    with pytest.raises(ValueError, match="jaw_gian"):
        SpeakerStyle.from_dict({"jaw_gian": 1.2})


@pytest.mark.parametrize("asymmetry", [0.2, -0.2])
def test_asymmetry_moves_the_intended_side_more(asymmetry):
    w = articulate(SPREAD, _audio(SPREAD), SR, FPS, SpeakerStyle(asymmetry=asymmetry, resting_smile=0.0))
    sign = np.sign(asymmetry)
    for base in ("mouthStretch", "mouthSmile", "mouthPress"):
        left, right = w[:, arkit_index(base + "Left")], w[:, arkit_index(base + "Right")]
        assert left.max() > 0.05
        assert (sign * (left - right)).max() > 0.3 * abs(asymmetry) * max(left.max(), right.max()), base
        assert np.all(sign * (left - right) >= -1e-6), base
    symmetric = articulate(SPREAD, _audio(SPREAD), SR, FPS, SpeakerStyle(asymmetry=0.0))
    assert np.allclose(symmetric[:, arkit_index("mouthStretchLeft")], symmetric[:, arkit_index("mouthStretchRight")])


@pytest.mark.parametrize("smile", [0.25, -0.15])
def test_resting_smile_or_frown_shows_in_silence(smile):
    phones = _phones("sil:500 b:80 aa:200 sil:800")
    w = articulate(phones, _audio(phones), SR, FPS, SpeakerStyle(resting_smile=smile, asymmetry=0.0))
    silence = w[-8:]  # the end of the pause, after the mouth relaxed
    shape = "mouthSmile" if smile > 0 else "mouthFrown"
    other = "mouthFrown" if smile > 0 else "mouthSmile"
    for side in ("Left", "Right"):
        assert silence[:, arkit_index(shape + side)] == pytest.approx(abs(smile), abs=1e-3)
        assert silence[:, arkit_index(other + side)].max() == 0.0
    assert silence[:, arkit_index("jawOpen")].max() < 0.01


def test_gains_scale_their_channels():
    audio = _audio(SPREAD)
    neutral = articulate(SPREAD, audio, SR, FPS, SpeakerStyle())
    spread = articulate(SPREAD, audio, SR, FPS, SpeakerStyle(spread_gain=1.5))
    s = arkit_index("mouthStretchLeft")
    assert spread[:, s].max() == pytest.approx(1.5 * neutral[:, s].max(), rel=0.02)
    rounded = _phones("sil:200 w:100 uw:200 sil:300")
    a, b = (articulate(rounded, _audio(rounded), SR, FPS, SpeakerStyle(rounding_gain=g)) for g in (0.6, 1.5))
    assert b[:, arkit_index("mouthPucker")].max() > 2.0 * a[:, arkit_index("mouthPucker")].max()
    press = arkit_index("mouthPressLeft")
    soft, hard = (articulate(SPREAD, audio, SR, FPS, SpeakerStyle(lip_emphasis=e)) for e in (0.5, 1.6))
    assert hard[:, press].max() > 2.5 * soft[:, press].max()


def test_apply_style_keeps_the_range():
    w = np.full((4, 52), 0.95)
    out = apply_style(w, SpeakerStyle(asymmetry=0.25, resting_smile=0.3))
    assert out.shape == (4, 52) and out.min() >= 0.0 and out.max() <= 1.0
    assert len(ARKIT52) == out.shape[1]
