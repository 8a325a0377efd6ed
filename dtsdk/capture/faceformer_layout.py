"""Vertex-sequence datasets as FaceFormer/CodeTalker preprocess them (the base of ``vocaset`` and ``biwi``).

Layout of the dataset root (the path passed to ``read``)::

    vertices_npy/<Subject>_<sentence>.npy   (T, 3V) float vertex positions (or (T, V, 3))
    wav/<Subject>_<sentence>.wav            the speech of that sequence, any rate (resampled to 16 kHz)
    templates.npz                           optional: subject id -> (V, 3) neutral face, same unit
      or templates/<Subject>.npy            optional, one file per subject
    faces.npy                               optional: (F, 3) integer triangles of the topology

The subject is everything before the last ``_`` of the file name (``FaceTalk_170725_00137_TA``,
``F1``); it becomes the clip's ``speaker``.

Templates. The original releases ship ``templates.pkl``, a pickle; dtsdk never unpickles it (a
pickle runs code when loaded). Convert it once yourself, in an environment you trust::

    python -c "import pickle, numpy as np; t = pickle.load(open('templates.pkl', 'rb'), encoding='latin1'); np.savez('templates.npz', **{k: np.asarray(v, dtype=np.float32).reshape(-1, 3) for k, v in t.items()})"

Without a template for a subject, each of its sequences uses its own first frame as the template,
with one warning listing those subjects. Offsets are then relative to that frame, not to a neutral
face, and differ in origin between sequences of the same subject.

Output. ``Animation.weights`` are per-vertex offsets from the template, in mm, ``(T, 3V)``, on the
vertex rig named by the reader (``flame-5023``, ``biwi-23370``). ``units`` says the unit of the
files (default metres, as FaceFormer's arrays are; an implausible face size triggers a warning).
``clip.meta`` carries ``template_mm`` ``(V, 3)``, and ``rig``: a vertex :class:`~dtsdk.rigs.Rig`
built from that template and ``faces.npy`` (or ``faces=``), or None when no faces are known.
A vertex rig needs faces, and the FLAME/BIWI topologies are licensed, so dtsdk registers no such
rig; decode with ``clip.animation.to_vertices(clip.meta["rig"])`` or, without faces,
``clip.meta["template_mm"] + weights.reshape(T, V, 3)``.

Frame rate. ``source_fps`` is the rate of the arrays on disk; ``fps`` the rate of the clips. When
they differ, every ``source_fps / fps``-th frame is kept (integer ratios only), as FaceFormer does
with ``[::2]`` for VOCASET; given ``source_fps`` alone, clips keep that rate. Audio and motion are
assumed to start together; their ends are reconciled by the rules in :mod:`dtsdk.capture._align`.
"""  # noqa: E501 (the one-line conversion command above is meant to be copied whole)
from __future__ import annotations

import os
import re
import warnings
from typing import Iterator, Sequence

import numpy as np

from dtsdk.animation import Animation
from dtsdk.audio import AUDIO_SAMPLE_RATE, load_audio
from dtsdk.capture._align import (DEFAULT_MAX_MISMATCH_S, CaptureWarning, align_lengths, check_policy, name_files,
                                  rel, report_missing)
from dtsdk.capture.base import CaptureClip, CaptureReader
from dtsdk.capture.vertex_arrays import (PLAUSIBLE_EXTENT_MM, UNITS_TO_MM, extent_mm, load_faces, load_templates,
                                        load_vertex_sequence)
from dtsdk.errors import DtsdkError, FormatError, RigError
from dtsdk.rigs.base import Rig

MOTION_DIR, AUDIO_DIR = "vertices_npy", "wav"
COMMON_RATES = (24, 25, 30, 50, 60)

TEMPLATE_HELP = ("convert templates.pkl once in a trusted environment: python -c \"import pickle, numpy as np; "
                 "t = pickle.load(open('templates.pkl', 'rb'), encoding='latin1'); np.savez('templates.npz', "
                 "**{k: np.asarray(v, dtype=np.float32).reshape(-1, 3) for k, v in t.items()})\"")


def subject_of(sequence: str) -> str:
    """``FaceTalk_170725_00137_TA_sentence01`` -> ``FaceTalk_170725_00137_TA``; ``F1_e01`` -> ``F1``."""
    return sequence.rsplit("_", 1)[0] if "_" in sequence else sequence


class FaceFormerLayoutReader(CaptureReader):
    """Subclasses set the dataset facts below; everything else is shared."""

    dataset: str = ""  # for messages: "VOCASET", "BIWI"
    num_vertices: int = 0
    rig_name: str = ""
    source_fps: float = 0.0  # rate of the arrays on disk
    fps: float = 0.0  # default rate of the clips
    name_pattern: re.Pattern | None = None  # sequence names of the real release, used by can_read

    # ---- recognising ---------------------------------------------------------------------------
    def can_read(self, path: str | os.PathLike) -> bool:
        """A folder with ``vertices_npy/`` and ``wav/`` whose sequences carry this dataset's names
        or whose first array has this dataset's width (read from the .npy header only)."""
        motion_dir, audio_dir = os.path.join(path, MOTION_DIR), os.path.join(path, AUDIO_DIR)
        if not (os.path.isdir(motion_dir) and os.path.isdir(audio_dir)):
            return False
        stems = sorted(f[:-4] for f in os.listdir(motion_dir) if f.endswith(".npy"))
        if not stems:
            return False
        if self.name_pattern is not None and any(self.name_pattern.match(s) for s in stems):
            return True
        return _npy_width(os.path.join(motion_dir, stems[0] + ".npy")) == 3 * self.num_vertices

    # ---- reading -------------------------------------------------------------------------------
    def read(self, path: str | os.PathLike, *, fps: float | None = None, source_fps: float | None = None,
             units: str = "m", subjects: Sequence[str] | None = None, faces: str | os.PathLike | None = None,
             on_mismatch: str = "error", on_missing: str = "skip",
             max_mismatch_s: float = DEFAULT_MAX_MISMATCH_S) -> Iterator[CaptureClip]:
        """Yield one clip per (npy, wav) pair, sorted by name. ``subjects`` limits the speakers read;
        ``faces`` replaces ``<root>/faces.npy``. See the module docstring for the rest."""
        root = os.fspath(path)
        check_policy(on_mismatch, on_missing, max_mismatch_s)
        if units not in UNITS_TO_MM:
            raise DtsdkError(f"units must be one of {', '.join(UNITS_TO_MM)}, got {units!r}")
        src_fps, keep_every, out_fps = self._rates(fps, source_fps)
        pairs = self._pairs(root, on_missing, subjects)
        subject_ids = sorted({subject_of(stem) for stem in pairs})
        templates, template_source = self._templates(root, subject_ids, units)
        face_list = self._faces(root, faces)
        rigs: dict[str, Rig | None] = {}
        units_checked = False
        for stem, (motion_path, audio_path) in pairs.items():
            subject = subject_of(stem)
            verts = load_vertex_sequence(motion_path, self.num_vertices, self.dataset)  # (T_src, V, 3)
            template = templates.get(subject, verts[0])  # (V, 3) file units
            if not units_checked:  # one look is enough: a dataset has one unit
                _warn_if_not_face_sized(template, units, motion_path)
                units_checked = True
            verts = verts[::keep_every]  # (T, V, 3) at out_fps
            audio = load_audio(audio_path, AUDIO_SAMPLE_RATE)
            aligned = align_lengths(audio, AUDIO_SAMPLE_RATE, len(verts), out_fps, audio_path, motion_path,
                                    on_mismatch, max_mismatch_s, self._rate_hint(len(verts), len(audio), src_fps,
                                                                                 keep_every))
            if aligned is None:
                continue
            scale = UNITS_TO_MM[units]
            offsets_mm = (verts[:aligned.num_frames] - template[None]) * scale  # (T, V, 3)
            template_mm = (template * scale).astype(np.float32)
            if subject not in templates:  # a per-sequence template, so a per-sequence rig
                rig = self._rig(template_mm, face_list, stem)
            elif subject not in rigs:
                rig = rigs[subject] = self._rig(template_mm, face_list, subject)
            else:
                rig = rigs[subject]
            meta = {"dataset": self.dataset, "sentence": stem[len(subject) + 1:], "motion_file": motion_path,
                    "audio_file": audio_path, "source_fps": src_fps, "keep_every": keep_every, "units": units,
                    "template_mm": template_mm,
                    "template_source": template_source if subject in templates else "first frame",
                    "rig": rig, **aligned.meta}
            animation = Animation(offsets_mm.reshape(aligned.num_frames, -1), (), out_fps, self.rig_name,
                                  meta={"source": motion_path})
            yield CaptureClip(stem, subject, aligned.audio, AUDIO_SAMPLE_RATE, animation, meta)

    # ---- pieces --------------------------------------------------------------------------------
    def _rates(self, fps, source_fps) -> tuple[float, int, float]:
        src = float(source_fps if source_fps is not None else self.source_fps)
        out = float(fps if fps is not None else (self.fps if source_fps is None else src))
        if not (np.isfinite(src) and src > 0 and np.isfinite(out) and out > 0):
            raise DtsdkError(f"{self.name}: fps and source_fps must be positive, got fps={out:g}, source_fps={src:g}")
        ratio = src / out
        if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
            raise DtsdkError(f"{self.name}: fps={out:g} must divide source_fps={src:g} (frames are kept every "
                             f"n-th, not interpolated); use Animation.resample afterwards for other rates")
        return src, int(round(ratio)), out

    def _pairs(self, root: str, on_missing: str, subjects) -> dict[str, tuple[str, str]]:
        motion_dir, audio_dir = os.path.join(root, MOTION_DIR), os.path.join(root, AUDIO_DIR)
        for folder in (motion_dir, audio_dir):
            if not os.path.isdir(folder):
                raise FormatError(f"{root}: no {os.path.basename(folder)}/ folder; a {self.dataset} root holds "
                                  f"{MOTION_DIR}/ and {AUDIO_DIR}/")
        motions = {f[:-4]: os.path.join(motion_dir, f) for f in os.listdir(motion_dir) if f.lower().endswith(".npy")}
        audios = {f[:-4]: os.path.join(audio_dir, f) for f in os.listdir(audio_dir) if f.lower().endswith(".wav")}
        if subjects is not None:
            wanted = set(subjects)
            motions = {k: v for k, v in motions.items() if subject_of(k) in wanted}
            audios = {k: v for k, v in audios.items() if subject_of(k) in wanted}
        pairs = {stem: (motions[stem], audios[stem]) for stem in sorted(motions.keys() & audios.keys())}
        missing = ([rel(motions[s], root) for s in sorted(motions.keys() - audios.keys())]
                   + [rel(audios[s], root) for s in sorted(audios.keys() - motions.keys())])
        report_missing(root, missing, "partner (.npy <-> .wav of the same name)", on_missing, len(pairs))
        return pairs

    def _templates(self, root: str, subject_ids: list[str], units: str) -> tuple[dict[str, np.ndarray], str | None]:
        templates, source = load_templates(root, subject_ids, self.num_vertices)
        lacking = [s for s in subject_ids if s not in templates]
        if lacking:
            pkl = os.path.isfile(os.path.join(root, "templates.pkl"))
            advice = f"; {TEMPLATE_HELP}" if pkl and source is None else ""
            where = f"no template in {source}" if source else "no templates.npz or templates/ folder"
            warnings.warn(f"{root}: {where} for {name_files(lacking)}; using each sequence's first frame as its "
                          f"template (offsets are then relative to that frame){advice}", CaptureWarning, stacklevel=3)
        return templates, source

    def _faces(self, root: str, faces) -> np.ndarray | None:
        if faces is not None:
            return load_faces(os.fspath(faces), self.num_vertices)
        default = os.path.join(root, "faces.npy")
        return load_faces(default, self.num_vertices) if os.path.isfile(default) else None

    def _rig(self, template_mm: np.ndarray, faces: np.ndarray | None, label: str) -> Rig | None:
        if faces is None:
            return None
        try:
            return Rig(self.rig_name, "vertex", template_mm=template_mm, faces=faces,
                       description=f"{self.dataset} topology with the template of {label}")
        except RigError as exc:
            raise FormatError(f"faces.npy: {exc}") from None

    def _rate_hint(self, frames: int, samples: int, src_fps: float, keep_every: int) -> str:
        """If the arrays look like they run at another common rate, say how to read them."""
        audio_s = samples / AUDIO_SAMPLE_RATE
        if audio_s <= 0:
            return ""
        implied = frames * keep_every / audio_s  # rate the file would need to match the audio
        best = min(COMMON_RATES, key=lambda r: abs(r - implied))
        if best != src_fps and abs(best - implied) < 0.05 * best:
            return f" (the arrays look like {best} fps, not {src_fps:g}; pass source_fps={best})"
        return ""


def _warn_if_not_face_sized(template: np.ndarray, units: str, where: str) -> None:
    size = extent_mm(template, units)
    if not PLAUSIBLE_EXTENT_MM[0] <= size <= PLAUSIBLE_EXTENT_MM[1]:
        warnings.warn(f"{where}: the face spans {size:.4g} mm when read as {units!r}, not a face's size; "
                      f"pass units= ('m', 'cm' or 'mm') to match the files", CaptureWarning, stacklevel=4)


def _npy_width(path: str) -> int | None:
    """Columns of a 2-D .npy (or 3*V of a (T, V, 3) one) from its header, without loading the data."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, _ = read_header(f)
    except (OSError, ValueError):
        return None
    if len(shape) == 2:
        return int(shape[1])
    if len(shape) == 3 and shape[2] == 3:
        return int(shape[1]) * 3
    return None
