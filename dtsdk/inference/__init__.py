"""Inference: :class:`Talker` (speech -> Animation with a DiffusionTalker) and long-audio windowing."""
from dtsdk.inference.talker import DEFAULT_MODEL_DIR, Talker
from dtsdk.inference.windows import Stitcher, Window, crossfade_ramp, plan_windows

__all__ = ["DEFAULT_MODEL_DIR", "Talker", "Stitcher", "Window", "crossfade_ramp", "plan_windows"]
