"""dtsdk: speech to personalized 3D facial animation.

Public API::

    import dtsdk
    anim = dtsdk.Animation.load("take.csv")
    verts = anim.to_vertices("dtface")        # (T, V, 3) mm
    anim.save("take.glb")
"""
from __future__ import annotations

from dtsdk._version import __version__
from dtsdk.animation import Animation
from dtsdk.errors import DtsdkError
from dtsdk.plugins import hookimpl
from dtsdk.rigs import ARKIT52, Rig, get_rig


def __getattr__(name):
    # Talker pulls in the model code; import it only when asked for (keeps `import dtsdk` light).
    if name == "Talker":
        from dtsdk.inference import Talker

        return Talker
    if name == "enroll":  # the enrollment code, like Talker, loads the model code: only when asked for
        from dtsdk.enrollment import enroll

        return enroll
    raise AttributeError(f"module 'dtsdk' has no attribute {name!r}")


def load_audio(source, sr=None, **kwargs):
    """Load audio from a path, bytes or array as mono float32 at ``sr`` Hz (see :func:`dtsdk.audio.load_audio`)."""
    from dtsdk.audio.io import load_audio as _load

    return _load(source, sr=sr, **kwargs)


__all__ = ["__version__", "Animation", "Talker", "enroll", "Rig", "get_rig", "ARKIT52", "DtsdkError", "hookimpl",
           "load_audio"]
