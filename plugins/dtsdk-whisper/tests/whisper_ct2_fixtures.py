"""A tiny random Whisper encoder written in the CTranslate2 model.bin layout, so tests need no download.

A module of its own (not conftest.py, whose name other test folders share), imported by the tests."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_TYPE_IDS = {np.dtype("float32"): 0, np.dtype("int8"): 1, np.dtype("int16"): 2, np.dtype("int32"): 3,
             np.dtype("float16"): 4}
WIDTH, HEADS, LAYERS, N_MELS = 16, 2, 2, 80


def _string(s: str) -> bytes:
    data = s.encode() + b"\0"
    return struct.pack("<H", len(data)) + data


def write_ct2(path: Path, variables: dict[str, np.ndarray], spec: str = "WhisperSpec", aliases=()) -> None:
    """Write ``variables`` as a CTranslate2 binary-version-6 file (the layout ``dtsdk_whisper.ct2`` reads)."""
    out = [struct.pack("<I", 6), _string(spec), struct.pack("<I", 3), struct.pack("<I", len(variables))]
    for name, value in variables.items():
        value = np.ascontiguousarray(value)
        out += [_string(name), struct.pack("<B", value.ndim), struct.pack(f"<{value.ndim}I", *value.shape),
                struct.pack("<BI", _TYPE_IDS[value.dtype], value.nbytes), value.tobytes()]
    out.append(struct.pack("<I", len(aliases)))
    for alias, target in aliases:
        out += [_string(alias), _string(target)]
    path.write_bytes(b"".join(out))


def tiny_whisper_variables(seed: int = 0, dtype=np.float16) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def w(*shape, scale=0.2):
        return (scale * rng.standard_normal(shape)).astype(dtype)

    def norm(prefix):
        return {f"{prefix}/gamma": (1 + w(WIDTH, scale=0.1)).astype(dtype), f"{prefix}/beta": w(WIDTH, scale=0.1)}

    t = np.arange(1500)[:, None] / 10000 ** (np.arange(WIDTH // 2)[None] / (WIDTH // 2 - 1))
    v = {"decoder/num_heads": np.array(HEADS, np.int16),  # decoder tensors are skipped by the reader
         "decoder/embeddings/weight": w(50, WIDTH),
         "encoder/conv1/weight": w(WIDTH, N_MELS, 3), "encoder/conv1/bias": w(WIDTH),
         "encoder/conv2/weight": w(WIDTH, WIDTH, 3), "encoder/conv2/bias": w(WIDTH),
         "encoder/position_encodings/encodings": np.concatenate([np.sin(t), np.cos(t)], 1).astype(dtype),
         "encoder/num_heads": np.array(HEADS, np.int16), **norm("encoder/layer_norm")}
    for i in range(LAYERS):
        p = f"encoder/layer_{i}"
        v.update({**norm(f"{p}/self_attention/layer_norm"), **norm(f"{p}/ffn/layer_norm"),
                  f"{p}/self_attention/linear_0/weight": w(3 * WIDTH, WIDTH),
                  f"{p}/self_attention/linear_0/bias": w(3 * WIDTH),
                  f"{p}/self_attention/linear_1/weight": w(WIDTH, WIDTH),
                  f"{p}/self_attention/linear_1/bias": w(WIDTH),
                  f"{p}/ffn/linear_0/weight": w(4 * WIDTH, WIDTH), f"{p}/ffn/linear_0/bias": w(4 * WIDTH),
                  f"{p}/ffn/linear_1/weight": w(WIDTH, 4 * WIDTH), f"{p}/ffn/linear_1/bias": w(WIDTH)})
    return v
