"""Audio input: one loader for paths, bytes and arrays, and the resampler behind it."""
from dtsdk.audio.io import AUDIO_SAMPLE_RATE, AudioInfo, TruncatedAudioWarning, audio_info, load_audio
from dtsdk.audio.resample import StreamingResampler, resample

__all__ = [
    "AUDIO_SAMPLE_RATE",
    "AudioInfo",
    "StreamingResampler",
    "TruncatedAudioWarning",
    "audio_info",
    "load_audio",
    "resample",
]
