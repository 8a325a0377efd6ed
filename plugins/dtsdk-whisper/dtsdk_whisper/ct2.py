"""Read tensors from a CTranslate2 ``model.bin`` (binary versions 5 and 6) without CTranslate2.

The file is little-endian: ``u32 version``, ``string spec_name``, ``u32 spec_revision``, ``u32 count``,
then ``count`` variables, each ``string name, u8 ndim, u32 dims[ndim], u8 dtype, u32 nbytes, bytes``,
then ``u32 count`` aliases (``string alias, string target``). A string is ``u16 length`` (counting a
trailing NUL), the UTF-8 bytes and the NUL. Dtype ids follow CTranslate2's ``DataType`` enum:
0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16. Scalars (``ndim == 0``) are settings such
as ``encoder/num_heads``. An int8-quantised weight ``w`` comes with ``w_scale`` (one per output row):
``w = q / scale``. Only the variables asked for are read; the rest are skipped with a seek.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

import torch

from dtsdk.errors import DtsdkError, file_error

SUPPORTED_VERSIONS = (5, 6)
_DTYPES = {0: torch.float32, 1: torch.int8, 2: torch.int16, 3: torch.int32, 4: torch.float16, 5: torch.bfloat16}


def _read(f: BinaryIO, fmt: str):
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise EOFError
    return struct.unpack(fmt, data)


def _read_string(f: BinaryIO) -> str:
    (length,) = _read(f, "<H")
    data = f.read(length)
    if len(data) != length:
        raise EOFError
    return data[:-1].decode("utf-8")


def read_ct2_header(path: str | Path) -> tuple[int, str, int]:
    """``(binary_version, spec_name, spec_revision)``, e.g. ``(6, "WhisperSpec", 3)``."""
    with open(path, "rb") as f:
        try:
            (version,) = _read(f, "<I")
            if version not in SUPPORTED_VERSIONS:
                raise file_error(DtsdkError, path, f"CTranslate2 binary version {version} is not supported "
                                                   f"(this reader knows {SUPPORTED_VERSIONS})")
            name = _read_string(f)
            (revision,) = _read(f, "<I")
        except (EOFError, UnicodeDecodeError) as exc:
            raise file_error(DtsdkError, path, "not a CTranslate2 model.bin (truncated header)") from exc
    return version, name, revision


def read_ct2_variables(path: str | Path, prefix: str = "") -> dict[str, torch.Tensor]:
    """The variables whose names start with ``prefix`` as CPU tensors, int8 weights dequantised to float32.

    Scalars come back as 0-d tensors. Aliases pointing at a read variable are resolved too.
    """
    path = Path(path)
    read_ct2_header(path)
    out: dict[str, torch.Tensor] = {}
    with open(path, "rb") as f:
        try:
            _read(f, "<I")
            _read_string(f)
            _read(f, "<I")
            (count,) = _read(f, "<I")
            for _ in range(count):
                name = _read_string(f)
                (ndim,) = _read(f, "<B")
                shape = _read(f, f"<{ndim}I") if ndim else ()
                dtype_id, nbytes = _read(f, "<BI")
                if not name.startswith(prefix):
                    f.seek(nbytes, 1)
                    continue
                if dtype_id not in _DTYPES:
                    raise file_error(DtsdkError, path, f"variable {name} has unknown dtype id {dtype_id}")
                data = bytearray(f.read(nbytes))
                if len(data) != nbytes:
                    raise EOFError
                tensor = torch.frombuffer(data, dtype=_DTYPES[dtype_id]) if nbytes else torch.empty(0)
                out[name] = tensor.reshape(shape)
            (num_aliases,) = _read(f, "<I")
            for _ in range(num_aliases):
                alias, target = _read_string(f), _read_string(f)
                if alias.startswith(prefix) and target in out:
                    out[alias] = out[target]
        except (EOFError, UnicodeDecodeError) as exc:
            raise file_error(DtsdkError, path, "truncated or corrupt CTranslate2 model.bin") from exc
    return _dequantize(out, path)


def _dequantize(variables: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """Fold ``name_scale`` into int8 ``name`` (CTranslate2 stores ``round(w * scale)``, one scale per row)."""
    out = {}
    for name, value in variables.items():
        if name.endswith("_scale") and name[:-len("_scale")] in variables:
            continue
        scale = variables.get(name + "_scale")
        if value.dtype == torch.int8 and value.dim() >= 1 and scale is not None:
            value = value.float() / scale.float().reshape(-1, *([1] * (value.dim() - 1)))
        elif value.dtype == torch.int16 and value.dim() >= 2:
            raise file_error(DtsdkError, path, f"{name}: int16-quantised weights are not supported; "
                                               "convert the model with --quantization float16 or float32")
        out[name] = value
    return out
