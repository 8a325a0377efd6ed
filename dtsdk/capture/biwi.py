"""``biwi``: the BIWI 3D audiovisual corpus as FaceFormer preprocesses it.

Sequences are ``vertices_npy/<Speaker>_e<NN>.npy``, ``(T, 70110)`` = 23370 vertices x 3, at 25 fps,
and ``wav/<same name>.wav``; speakers F1..F8 and M1..M6, sentences e01..e40. The unit is assumed to
be metres like VOCASET's (a template whose size is not a face's triggers a warning; pass ``units=``).
Layout, templates, faces and error rules: :mod:`dtsdk.capture.faceformer_layout`.
"""
from __future__ import annotations

import re

from dtsdk.capture.faceformer_layout import FaceFormerLayoutReader

BIWI_VERTICES = 23370
BIWI_SPEAKERS = tuple(f"F{i}" for i in range(1, 9)) + tuple(f"M{i}" for i in range(1, 7))


class BiwiReader(FaceFormerLayoutReader):
    name = "biwi"
    description = "BIWI (FaceFormer layout): vertices_npy/F1_e01.npy (T, 70110) at 25 fps + wav/F1_e01.wav"
    dataset = "BIWI"
    num_vertices = BIWI_VERTICES
    rig_name = "biwi-23370"
    source_fps = 25.0
    fps = 25.0
    name_pattern = re.compile(r"^[FM]\d+_e\d+$")


BIWI_READER = BiwiReader()
