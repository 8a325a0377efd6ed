"""``glb``: binary glTF 2.0 with the rig's mesh, one morph target per shape, and the animation.

Written file (opens in Blender, three.js, and any conformant viewer):

- one node holding one mesh: template positions (metres; dtsdk's mm / 1000), smooth normals,
  triangle indices, ``COLOR_0`` from the rig's ``part_ids`` when it has them;
- one morph target per shape (POSITION deltas in metres), names in ``mesh.extras.targetNames``,
  default ``mesh.weights`` all 0;
- one animation: a LINEAR ``weights`` channel (input: frame times in seconds, output: T x K
  weights) and, when the animation has ``head_pose``, a LINEAR ``rotation`` channel on the same node.
  Head pose becomes the quaternion of ``Ry(yaw) Rx(pitch) Rz(roll)`` in glTF's frame (+Y up, face
  toward +Z): yaw turns toward the subject's left, pitch looks down.

The mesh comes from the animation's rig when it has one; a mesh-less ``arkit52`` animation is put on
``dtface`` (``rig=`` picks another blendshape rig; weights are retargeted through ARKit-52). Vertex
rig animations have no morph-target form here: write them as ``obj-seq`` or ``npy``.
``animation.extras.dtsdk`` records the rig and fps so that reading gives back the same animation.

Reading: the first animation with a ``weights`` channel, its node's target names, fps from the time
samples (uneven samples are resampled, with a warning), and the node's rotation channel as head pose.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from dtsdk._version import __version__
from dtsdk.animation import Animation
from dtsdk.errors import DtsdkError, ExportError, FormatError
from dtsdk.io._common import require_named_channels, rig_name_for
from dtsdk.utils.atomic import atomic_open
from dtsdk.io.base import Exporter
from dtsdk.utils.gltf_container import (ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER, GltfBuffer, GltfDocument, load_gltf,
                                     pack_glb, read_accessor)
from dtsdk.io.mesh_attributes import part_colors, vertex_normals

MM_TO_M = 1e-3


class GlbExporter(Exporter):
    name = "glb"
    extensions = (".glb", ".gltf")
    description = "glTF 2.0 binary: rig mesh + morph targets + weights animation (Blender, three.js, engines)"
    stores_meta = False
    stores_rig_name = False  # read back as the rig whose mesh was written (dtface for arkit52)

    def write(self, animation: Animation, path: str | os.PathLike, rig=None) -> None:
        where = os.fspath(path)
        if where.lower().endswith(".gltf"):
            raise ExportError(f"{where}: dtsdk writes binary glTF only; use a .glb file name (.gltf is read-only)")
        require_named_channels(animation, path, self.name)
        mesh_rig, weights = _mesh_rig_and_weights(animation, rig, where)
        document, binary = build_gltf(mesh_rig, weights, animation.fps, animation.head_pose,
                                      extras={"rig": mesh_rig.name, "fps": animation.fps,
                                              "source_rig": animation.rig})
        blob = pack_glb(document, binary)
        with atomic_open(path, "wb") as f:
            f.write(blob)

    def read(self, path: str | os.PathLike, rig: str | None = None, fps: float | None = None) -> Animation:
        doc = load_gltf(path)
        return animation_from_gltf(doc, rig=rig, fps=fps)


def _mesh_rig_and_weights(animation: Animation, rig, where: str):
    """The blendshape rig whose mesh is written, and the weights ``(T, K)`` in its space."""
    from dtsdk.rigs import DEFAULT_MESH_RIG, get_rig

    try:
        if rig is not None:
            target = get_rig(rig)
        else:
            own = get_rig(animation.rig)
            target = own if own.has_mesh else get_rig(DEFAULT_MESH_RIG)
        if target.kind != "blendshape":
            raise ExportError(f"{where}: glb needs a blendshape rig for its morph targets, but rig "
                              f"'{target.name}' is a {target.kind} rig")
        same = target.name.lower() == animation.rig.lower() and tuple(target.shape_names) == animation.names
        weights = animation.weights if same else animation.to_rig(target).weights
    except ExportError:
        raise
    except DtsdkError as exc:
        raise ExportError(f"{where}: {exc}") from exc
    return target, weights


def build_gltf(rig, weights: np.ndarray, fps: float, head_pose: np.ndarray | None, extras: dict):
    """glTF JSON (dict) and binary buffer for ``rig``'s mesh animated by ``weights`` ``(T, K)``."""
    buffer = GltfBuffer()
    positions = (rig.template_mm * MM_TO_M).astype(np.float32)  # (V, 3) metres
    attributes = {
        "POSITION": buffer.add(positions, "VEC3", ARRAY_BUFFER, with_min_max=True),
        "NORMAL": buffer.add(vertex_normals(rig.template_mm, rig.faces), "VEC3", ARRAY_BUFFER),
    }
    if rig.part_ids is not None:
        attributes["COLOR_0"] = buffer.add(part_colors(rig.part_ids), "VEC3", ARRAY_BUFFER)
    index_dtype = np.uint16 if rig.num_vertices <= 65535 else np.uint32
    indices = buffer.add(rig.faces.reshape(-1).astype(index_dtype), "SCALAR", ELEMENT_ARRAY_BUFFER)
    targets = [{"POSITION": buffer.add((d * MM_TO_M).astype(np.float32), "VEC3", ARRAY_BUFFER, with_min_max=True)}
               for d in rig.deltas_mm]  # (V, 3) each
    names = list(rig.shape_names)

    times_s = (np.arange(len(weights)) / fps).astype(np.float32)  # (T,)
    time_accessor = buffer.add(times_s, "SCALAR", with_min_max=True)
    samplers = [{"input": time_accessor, "interpolation": "LINEAR",
                 "output": buffer.add(weights.astype(np.float32).reshape(-1), "SCALAR")}]  # T*K
    channels = [{"sampler": 0, "target": {"node": 0, "path": "weights"}}]
    if head_pose is not None:
        quaternions = head_pose_to_quaternions(head_pose)  # (T, 4) x, y, z, w
        samplers.append({"input": time_accessor, "interpolation": "LINEAR",
                         "output": buffer.add(quaternions, "VEC4")})
        channels.append({"sampler": 1, "target": {"node": 0, "path": "rotation"}})

    # Vertex colours multiply the base colour, so with COLOR_0 the base is white.
    base_color = [1.0, 1.0, 1.0, 1.0] if "COLOR_0" in attributes else [0.86, 0.68, 0.58, 1.0]
    document = {
        "asset": {"version": "2.0", "generator": f"dtsdk {__version__}"},
        "scene": 0,
        "scenes": [{"name": "dtsdk", "nodes": [0]}],
        "nodes": [{"name": rig.name, "mesh": 0}],
        "meshes": [{
            "name": rig.name,
            "primitives": [{"attributes": attributes, "indices": indices, "material": 0, "mode": 4,
                            "targets": targets}],
            "weights": [0.0] * len(names),
            "extras": {"targetNames": names},
        }],
        "materials": [{"name": "face", "pbrMetallicRoughness": {
            "baseColorFactor": base_color, "metallicFactor": 0.0, "roughnessFactor": 0.6}}],
        "animations": [{"name": "dtsdk", "samplers": samplers, "channels": channels, "extras": {"dtsdk": extras}}],
        "accessors": buffer.accessors,
        "bufferViews": buffer.buffer_views,
    }
    return document, buffer.binary()


# ---- head pose <-> quaternions ------------------------------------------------------------------
def head_pose_to_quaternions(head_pose: np.ndarray) -> np.ndarray:
    """Yaw, pitch, roll ``(T, 3)`` radians -> unit quaternions ``(T, 4)`` (x, y, z, w) of Ry Rx Rz."""
    half = np.asarray(head_pose, dtype=np.float64) / 2
    cy, sy = np.cos(half[:, 0]), np.sin(half[:, 0])
    cp, sp = np.cos(half[:, 1]), np.sin(half[:, 1])
    cr, sr = np.cos(half[:, 2]), np.sin(half[:, 2])
    # Hamilton product q_y * q_x * q_z, written out.
    x = cy * sp * cr + sy * cp * sr
    y = sy * cp * cr - cy * sp * sr
    z = cy * cp * sr - sy * sp * cr
    w = cy * cp * cr + sy * sp * sr
    return np.stack([x, y, z, w], axis=1).astype(np.float32)


def quaternions_to_head_pose(quaternions: np.ndarray) -> np.ndarray:
    """Quaternions ``(T, 4)`` (x, y, z, w) -> yaw, pitch, roll ``(T, 3)`` radians (inverse of the above)."""
    q = np.asarray(quaternions, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=1, keepdims=True).clip(1e-12)
    x, y, z, w = q.T
    r02 = 2 * (x * z + w * y)
    r12 = 2 * (y * z - w * x)
    r22 = 1 - 2 * (x * x + y * y)
    r10 = 2 * (x * y + w * z)
    r11 = 1 - 2 * (x * x + z * z)
    yaw = np.arctan2(r02, r22)
    pitch = np.arcsin(np.clip(-r12, -1.0, 1.0))
    roll = np.arctan2(r10, r11)
    return np.stack([yaw, pitch, roll], axis=1).astype(np.float32)


# ---- reading ------------------------------------------------------------------------------------
def animation_from_gltf(doc: GltfDocument, rig: str | None = None, fps: float | None = None) -> Animation:
    """The first morph-weights animation in ``doc`` as an :class:`Animation`."""
    found = _find_weights_channel(doc)
    if found is None:
        raise FormatError(f"{doc.path}: no animation with a morph-target 'weights' channel")
    animation, channel = found
    where = doc.path
    node_index = channel["target"].get("node")
    node = doc.item("nodes", node_index, "the weights channel")
    mesh = doc.item("meshes", node.get("mesh"), f"nodes[{node_index}]")
    num_targets = len(mesh.get("primitives", [{}])[0].get("targets", []))
    names = _target_names(mesh, num_targets)
    times, values = _sampler_values(doc, animation, channel["sampler"])
    if num_targets == 0 or values.size % (len(times) * num_targets):
        raise FormatError(f"{where}: weights output has {values.size} values, not {len(times)} frames x "
                          f"{num_targets} morph targets")
    values = values.reshape(len(times), -1, num_targets)  # (T, 1 or 3 for CUBICSPLINE, K)
    weights = values[:, values.shape[1] // 2]  # CUBICSPLINE stores in-tangent, value, out-tangent
    head_pose = _head_pose_for(doc, animation, node_index, times)

    extras = (animation.get("extras") or {}).get("dtsdk") or {}
    rate = fps or _rate_from_times(times, extras.get("fps"), where)
    grid = times[0] + np.arange(int(round((times[-1] - times[0]) * rate)) + 1) / rate
    if len(grid) != len(times) or np.abs(grid - times).max() > 0.25 / rate:
        warnings.warn(f"{where}: animation samples are not evenly spaced at {rate:g} fps; resampled", stacklevel=3)
        weights = _interp_columns(grid, times, weights)
        head_pose = None if head_pose is None else _interp_columns(grid, times, head_pose)
    meta = {"source": where, "start_s": float(times[0])}
    try:
        return Animation(weights, names, rate, rig or extras.get("rig") or rig_name_for(names, None), head_pose, meta)
    except DtsdkError as exc:
        raise FormatError(f"{where}: {exc}") from exc


def _find_weights_channel(doc: GltfDocument):
    for animation in doc.json.get("animations", []):
        for channel in animation.get("channels", []):
            if channel.get("target", {}).get("path") == "weights":
                return animation, channel
    return None


def _target_names(mesh: dict, num_targets: int) -> tuple[str, ...]:
    names = (mesh.get("extras") or {}).get("targetNames")
    if names is None:
        names = ((mesh.get("primitives") or [{}])[0].get("extras") or {}).get("targetNames")
    if not isinstance(names, list) or len(names) != num_targets:
        names = [f"target_{i}" for i in range(num_targets)]
    return tuple(str(n) for n in names)


def _sampler_values(doc: GltfDocument, animation: dict, sampler_index) -> tuple[np.ndarray, np.ndarray]:
    samplers = animation.get("samplers", [])
    if not isinstance(sampler_index, int) or not 0 <= sampler_index < len(samplers):
        raise FormatError(f"{doc.path}: an animation channel refers to missing sampler {sampler_index}")
    sampler = samplers[sampler_index]
    times = read_accessor(doc, sampler["input"]).astype(np.float64)
    values = read_accessor(doc, sampler["output"]).astype(np.float32)
    if times.ndim != 1 or not len(times):
        raise FormatError(f"{doc.path}: animation sampler {sampler_index} has no time samples")
    if np.any(np.diff(times) <= 0):
        raise FormatError(f"{doc.path}: animation sampler {sampler_index} times do not increase")
    return times, values


def _head_pose_for(doc: GltfDocument, animation: dict, node_index: int, times: np.ndarray):
    for channel in animation.get("channels", []):
        target = channel.get("target", {})
        if target.get("node") == node_index and target.get("path") == "rotation":
            rot_times, quats = _sampler_values(doc, animation, channel["sampler"])
            quats = quats.reshape(len(rot_times), -1, 4)
            quats = quats[:, quats.shape[1] // 2]  # (T', 4)
            pose = quaternions_to_head_pose(quats)
            if len(rot_times) != len(times) or not np.allclose(rot_times, times):
                pose = _interp_columns(times, rot_times, pose)
            return pose
    return None


def _rate_from_times(times: np.ndarray, declared, where: str) -> float:
    if declared:
        return float(declared)
    if len(times) < 2:
        warnings.warn(f"{where}: a single animation sample gives no frame rate; assuming 30 fps", stacklevel=4)
        return 30.0
    rate = 1.0 / float(np.median(np.diff(times)))
    nearest = round(rate)
    return float(nearest) if abs(rate - nearest) < 1e-3 * nearest else rate


def _interp_columns(grid: np.ndarray, times: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.stack([np.interp(grid, times, values[:, j]) for j in range(values.shape[1])], axis=1).astype(np.float32)


GLB = GlbExporter()
