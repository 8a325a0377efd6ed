"""Inference: :class:`Talker` (speech -> Animation with a DiffusionTalker), long-audio windowing, batches
and streaming (:class:`AnimationStream`, :class:`Frame`)."""
from dtsdk.inference.streaming import AnimationStream, Frame
from dtsdk.inference.talker import DEFAULT_MODEL_DIR, Talker
from dtsdk.inference.windows import Stitcher, Window, crossfade_ramp, plan_windows

__all__ = ["DEFAULT_MODEL_DIR", "AnimationStream", "Frame", "Talker", "Stitcher", "Window", "crossfade_ramp",
           "plan_windows"]
