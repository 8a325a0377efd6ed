"""``vocaset``: VOCASET sequences as FaceFormer/CodeTalker preprocess them (``process_voca_data.py``).

Sequences are ``vertices_npy/FaceTalk_<date>_<id>_TA_sentenceNN.npy``, ``(T, 15069)`` = 5023 FLAME
vertices x 3 in metres, captured at 60 fps, and ``wav/<same name>.wav``. The arrays on disk keep
the full 60 fps (``source_fps=60``); like FaceFormer's loader (``[::2]``), clips come out at 30 fps
by default. ``fps=60`` keeps every frame; arrays saved already decimated need ``source_fps=30``.
Layout, templates, faces and error rules: :mod:`dtsdk.capture.faceformer_layout`.
"""
from __future__ import annotations

import re

from dtsdk.capture.faceformer_layout import FaceFormerLayoutReader

FLAME_VERTICES = 5023


class VocasetReader(FaceFormerLayoutReader):
    name = "vocaset"
    description = "VOCASET (FaceFormer layout): vertices_npy/*.npy (T, 15069) in metres at 60 fps + wav/*.wav"
    dataset = "VOCASET"
    num_vertices = FLAME_VERTICES
    rig_name = "flame-5023"
    source_fps = 60.0
    fps = 30.0
    name_pattern = re.compile(r"^FaceTalk_\d+_\d+_TA_sentence\d+$")


VOCASET_READER = VocasetReader()
