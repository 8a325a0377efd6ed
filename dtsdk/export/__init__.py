"""Model export to other runtimes: ``dtsdk export MODEL --format onnx -o student.onnx``.

:mod:`.onnx` builds and writes the graph (the model's own sampling code, its loop unrolled, its
noise draws taken from inputs); :mod:`.frontend` is the log-mel front end in graph-friendly operators. (Animation files
are written by :mod:`dtsdk.exporters`, a different thing.)
"""
from dtsdk.export.onnx import FORMATS, export_model, export_onnx, read_metadata, sampler_settings, sampling_noise

__all__ = ["FORMATS", "export_model", "export_onnx", "read_metadata", "sampler_settings", "sampling_noise"]
