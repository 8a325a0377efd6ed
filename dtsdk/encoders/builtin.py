"""Built-in audio encoders, registered through the same hook as third-party encoders."""
from __future__ import annotations

from dtsdk.plugins import hookimpl


def _logmel(**config):
    from dtsdk.encoders.logmel import LogMelEncoder

    return LogMelEncoder(**config)


def _logmel_conv(**config):
    from dtsdk.encoders.conv import ConvAudioEncoder

    return ConvAudioEncoder(**config)


def _hubert(model: str, layer: int = -1, **config):
    from dtsdk.encoders.hubert import load_hubert

    return load_hubert(model, layer=layer, **config)


@hookimpl
def register_audio_encoders(register):
    register("logmel", _logmel, description="Log-mel spectrogram (torch.stft), 80 bands, resampled to the motion fps")
    register("logmel-conv", _logmel_conv,
             description="Trainable conv (+transformer) encoder over normalised log-mel, at the motion fps")
    register("hubert", _hubert, description="Pretrained HuBERT/wav2vec2 hidden states "
                                            "(local folder or HF cache, never downloads), at the motion fps")
