"""glTF 2.0 containers without dependencies: build a GLB from numpy arrays, and read .glb/.gltf back.

Writing: :class:`GltfBuffer` collects arrays into one binary buffer (one bufferView per accessor,
each 4-byte aligned, so no ``byteStride`` is needed), and :func:`pack_glb` frames the JSON and
binary chunks. Reading: :func:`load_gltf` parses a GLB, or a ``.gltf`` whose buffers are base64
``data:`` URIs or files next to it, and :func:`read_accessor` turns an accessor into an array
(strided views, normalized integers and sparse accessors included). Used by the ``glb`` exporter and
by :meth:`dtsdk.rigs.Rig.from_gltf`. Spec: https://registry.khronos.org/glTF/specs/2.0/glTF-2.0.html
"""
from __future__ import annotations

import base64
import json
import os
import struct
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dtsdk.errors import FormatError

GLB_MAGIC = 0x46546C67  # "glTF"
CHUNK_JSON = 0x4E4F534A  # "JSON"
CHUNK_BIN = 0x004E4942  # "BIN\0"
ARRAY_BUFFER = 34962  # bufferView.target for vertex attributes
ELEMENT_ARRAY_BUFFER = 34963  # bufferView.target for indices

COMPONENT_DTYPES = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32,
                    5126: np.float32}
COMPONENT_TYPES = {np.dtype(v): k for k, v in COMPONENT_DTYPES.items()}
TYPE_SIZES = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}


def _pad4(data: bytes, fill: bytes = b"\x00") -> bytes:
    return data + fill * (-len(data) % 4)


# ---- writing ---------------------------------------------------------------------------------------
class GltfBuffer:
    """Accumulates accessors and their bufferViews over a single binary buffer (buffer 0)."""

    def __init__(self) -> None:
        self.buffer_views: list[dict] = []
        self.accessors: list[dict] = []
        self._parts: list[bytes] = []
        self._length = 0

    def add(self, array: np.ndarray, accessor_type: str, target: int | None = None, with_min_max: bool = False,
            normalized: bool = False) -> int:
        """Append ``array`` ``(count, n)`` (or ``(count,)`` for SCALAR); returns the accessor index."""
        array = np.ascontiguousarray(array)
        if array.dtype not in COMPONENT_TYPES:
            raise ValueError(f"glTF has no component type for {array.dtype}")
        count = len(array)
        if array.size != count * TYPE_SIZES[accessor_type]:
            raise ValueError(f"array of shape {array.shape} is not {count} x {accessor_type}")
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        view = {"buffer": 0, "byteOffset": self._length, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.buffer_views.append(view)
        # Every view starts 4-byte aligned: enough for any component type and for vertex attributes.
        self._parts.append(_pad4(data))
        self._length += len(self._parts[-1])
        accessor = {"bufferView": len(self.buffer_views) - 1, "componentType": COMPONENT_TYPES[array.dtype],
                    "count": count, "type": accessor_type}
        if normalized:
            accessor["normalized"] = True
        if with_min_max:
            flat = array.reshape(count, -1)
            as_number = float if array.dtype.kind == "f" else int
            accessor["min"] = [as_number(v) for v in flat.min(axis=0)]
            accessor["max"] = [as_number(v) for v in flat.max(axis=0)]
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def binary(self) -> bytes:
        return b"".join(self._parts)


def pack_glb(document: dict, binary: bytes) -> bytes:
    """A GLB file: 12-byte header, JSON chunk (space padded), BIN chunk (zero padded)."""
    document = dict(document)
    if binary:
        document["buffers"] = [{"byteLength": len(binary)}]
    json_chunk = _pad4(json.dumps(document, separators=(",", ":")).encode("utf-8"), b" ")
    bin_chunk = _pad4(binary)
    total = 12 + 8 + len(json_chunk) + (8 + len(bin_chunk) if binary else 0)
    out = [struct.pack("<III", GLB_MAGIC, 2, total), struct.pack("<II", len(json_chunk), CHUNK_JSON), json_chunk]
    if binary:
        out += [struct.pack("<II", len(bin_chunk), CHUNK_BIN), bin_chunk]
    return b"".join(out)


# ---- reading ---------------------------------------------------------------------------------------
@dataclass
class GltfDocument:
    path: str
    json: dict
    buffers: list[bytes]

    def item(self, collection: str, index, what: str = "") -> dict:
        """``json[collection][index]`` or a FormatError saying which reference is broken."""
        items = self.json.get(collection, [])
        if not isinstance(index, int) or not 0 <= index < len(items) or not isinstance(items[index], dict):
            raise FormatError(f"{self.path}: {what or collection} refers to {collection}[{index}], "
                              f"which does not exist ({len(items)} defined)")
        return items[index]


def load_gltf(path: str | os.PathLike) -> GltfDocument:
    """Parse a ``.glb`` (binary) or ``.gltf`` (JSON) file and load its buffers."""
    where = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FormatError(f"{where}: cannot read ({exc.strerror or exc})") from None
    if data[:4] == struct.pack("<I", GLB_MAGIC):
        document, bin_chunk = _split_glb(data, where)
    else:
        try:
            document = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(f"{where}: neither a GLB (no 'glTF' magic) nor glTF JSON ({exc})") from None
        bin_chunk = None
    if not isinstance(document, dict) or not isinstance(document.get("asset"), dict):
        raise FormatError(f"{where}: not a glTF document (no 'asset' object)")
    version = str(document["asset"].get("version", ""))
    if not version.startswith("2."):
        raise FormatError(f"{where}: glTF version {version or '?'} is not supported (need 2.x)")
    buffers = [_load_buffer(b, i, bin_chunk, Path(path).parent, where)
               for i, b in enumerate(document.get("buffers", []))]
    return GltfDocument(where, document, buffers)


def _split_glb(data: bytes, where: str) -> tuple[dict, bytes | None]:
    if len(data) < 20:
        raise FormatError(f"{where}: truncated GLB ({len(data)} bytes)")
    _, version, length = struct.unpack_from("<III", data, 0)
    if version != 2:
        raise FormatError(f"{where}: GLB container version {version} is not supported (need 2)")
    if length > len(data):
        raise FormatError(f"{where}: truncated GLB: header says {length} bytes, file has {len(data)}")
    chunks, offset = [], 12
    while offset + 8 <= length:
        chunk_length, chunk_type = struct.unpack_from("<II", data, offset)
        start = offset + 8
        if start + chunk_length > length:
            raise FormatError(f"{where}: GLB chunk at byte {offset} runs past the end of the file")
        chunks.append((chunk_type, data[start:start + chunk_length]))
        offset = start + chunk_length + (-chunk_length % 4)
    if not chunks or chunks[0][0] != CHUNK_JSON:
        raise FormatError(f"{where}: GLB does not start with a JSON chunk")
    try:
        document = json.loads(chunks[0][1].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{where}: GLB JSON chunk is not valid JSON ({exc})") from None
    bin_chunk = next((body for kind, body in chunks[1:] if kind == CHUNK_BIN), None)
    return document, bin_chunk


def _load_buffer(buffer: dict, index: int, bin_chunk: bytes | None, folder: Path, where: str) -> bytes:
    uri = buffer.get("uri")
    if uri is None:
        if index != 0 or bin_chunk is None:
            raise FormatError(f"{where}: buffers[{index}] has no uri and there is no GLB binary chunk")
        data = bin_chunk
    elif uri.startswith("data:"):
        header, _, payload = uri.partition(",")
        if not header.endswith(";base64"):
            raise FormatError(f"{where}: buffers[{index}] is a data URI that is not base64")
        try:
            data = base64.b64decode(payload, validate=True)
        except ValueError as exc:
            raise FormatError(f"{where}: buffers[{index}] has invalid base64 ({exc})") from None
    else:
        external = folder / urllib.parse.unquote(uri)
        try:
            data = external.read_bytes()
        except OSError:
            raise FormatError(f"{where}: buffers[{index}] refers to '{uri}', which cannot be read "
                              f"(expected at {external})") from None
    if len(data) < buffer.get("byteLength", 0):
        raise FormatError(f"{where}: buffers[{index}] holds {len(data)} bytes, less than its byteLength "
                          f"{buffer.get('byteLength')}")
    return data


def read_accessor(doc: GltfDocument, index: int) -> np.ndarray:
    """Accessor ``index`` as float32 (normalized or float) or its integer dtype: ``(count,)`` or ``(count, n)``."""
    accessor = doc.item("accessors", index, "a mesh or animation")
    where = f"{doc.path}: accessors[{index}]"
    try:
        dtype = np.dtype(COMPONENT_DTYPES[accessor["componentType"]]).newbyteorder("<")
        width = TYPE_SIZES[accessor["type"]]
        count = int(accessor["count"])
    except (KeyError, TypeError, ValueError):
        raise FormatError(f"{where}: bad componentType/type/count") from None
    if "bufferView" in accessor:
        values = _read_view(doc, accessor["bufferView"], int(accessor.get("byteOffset", 0)), dtype, count, width,
                            where)
    else:
        values = np.zeros((count, width), dtype)  # spec: an accessor without a view is all zeros
    if "sparse" in accessor:
        values = _apply_sparse(doc, accessor["sparse"], values, dtype, width, where)
    if accessor.get("normalized"):
        values = _denormalize(values)
    return values[:, 0] if accessor["type"] == "SCALAR" else values


def _read_view(doc: GltfDocument, view_index, offset: int, dtype: np.dtype, count: int, width: int,
               where: str) -> np.ndarray:
    view = doc.item("bufferViews", view_index, where)
    buffer_index = view.get("buffer", 0)
    if not isinstance(buffer_index, int) or not 0 <= buffer_index < len(doc.buffers):
        raise FormatError(f"{where}: bufferViews[{view_index}] refers to missing buffers[{buffer_index}]")
    buffer = doc.buffers[buffer_index]
    element = dtype.itemsize * width
    stride = int(view.get("byteStride") or element)
    start = int(view.get("byteOffset", 0)) + offset
    needed = (count - 1) * stride + element if count else 0
    view_end = int(view.get("byteOffset", 0)) + int(view.get("byteLength", 0))
    if start + needed > min(view_end, len(buffer)):
        raise FormatError(f"{where}: reads past the end of bufferViews[{view_index}] or its buffer")
    if count == 0:
        return np.zeros((0, width), dtype)
    raw = np.frombuffer(buffer, dtype=np.uint8, count=needed, offset=start)
    rows = np.lib.stride_tricks.as_strided(raw, shape=(count, element), strides=(stride, 1))
    return np.ascontiguousarray(rows).view(dtype).reshape(count, width).copy()


def _apply_sparse(doc: GltfDocument, sparse: dict, values: np.ndarray, dtype: np.dtype, width: int,
                  where: str) -> np.ndarray:
    try:
        n = int(sparse["count"])
        idx_info, val_info = sparse["indices"], sparse["values"]
        idx_dtype = np.dtype(COMPONENT_DTYPES[idx_info["componentType"]]).newbyteorder("<")
        indices = _read_view(doc, idx_info["bufferView"], int(idx_info.get("byteOffset", 0)), idx_dtype, n, 1,
                             where)[:, 0]
        replacements = _read_view(doc, val_info["bufferView"], int(val_info.get("byteOffset", 0)), dtype, n,
                                  width, where)
    except (KeyError, TypeError, ValueError):
        raise FormatError(f"{where}: malformed sparse accessor") from None
    if n and indices.max() >= len(values):
        raise FormatError(f"{where}: sparse index {int(indices.max())} is past the accessor's {len(values)} elements")
    values = values.copy()
    values[indices.astype(np.int64)] = replacements
    return values


def _denormalize(values: np.ndarray) -> np.ndarray:
    """Normalized integers -> float32 in [0, 1] (unsigned) or [-1, 1] (signed), per the spec."""
    info = np.iinfo(values.dtype)
    out = values.astype(np.float32) / info.max
    return np.maximum(out, -1.0) if info.min < 0 else out
