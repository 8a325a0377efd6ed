"""``dtsdk export MODEL --format onnx -o student.onnx``: a DiffusionTalker as one ONNX graph.

The graph is the model's own code traced once: the audio encoder (raw 16 kHz audio in; the log-mel
STFT as a convolution, :mod:`dtsdk.export.frontend`), the objective (for the residual objective the
mean network, then the diffusion of the rest) and the denoiser run through a fixed number of sampler
steps, unrolled: the registered sampler function itself runs while the graph is traced, and its
``torch.randn`` draws are answered from the graph's noise inputs (:class:`NoiseDraws`), so any
sampler that draws its noise that way exports, ddpm, ddim and the distilled student's included.
Noise comes in as inputs, so a run is reproducible and can be compared with torch; batch, audio
length and frame count are dynamic.

Inputs (float32): ``audio`` (B, S) mono at ``sample_rate`` Hz; ``identity`` (B, E) an identity
embedding (the bank rows, the null identity and any extra identities are in the metadata);
``noise`` (B, T, D) the starting noise, whose T is the number of motion frames to make;
``step_noise`` (K, B, T, D), only for samplers that draw noise each step (ddpm: K = steps - 1;
ddim and distilled with eta > 0).
Outputs: ``motion`` (B, T, D) in the rig's units, and for ARKit models ``weights``, the same clipped
to [0, 1] as :class:`dtsdk.inference.Talker` clips it. docs/onnx.md shows how to call it.
"""
from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from dtsdk.errors import DtsdkError

FORMATS = ("onnx",)
OPSET = 18
METADATA_KEY = "dtsdk"
FORMAT_VERSION = 1


class NoiseDraws(TorchFunctionMode):
    """Within it, each ``torch.randn`` call returns the next of ``draws`` (a tensor of the shape asked
    for) instead of drawing: the model's own sampling code runs with the graph's noise inputs.
    With ``draws=None`` it draws for real and records the shapes (the dry run that counts them)."""

    def __init__(self, draws: list[torch.Tensor] | None = None):
        super().__init__()
        self.draws, self.shapes, self.used = draws, [], 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _OTHER_RANDOM:
            raise DtsdkError(f"the sampler draws noise with {func.__name__}; the export can only stand in "
                             "for torch.randn draws of the sample's shape")
        if func is not torch.randn:
            return func(*args, **kwargs)
        if self.draws is None:
            out = func(*args, **kwargs)
            self.shapes.append(tuple(out.shape))
            return out
        self.used += 1
        return self.draws[self.used - 1]


_OTHER_RANDOM = (torch.randn_like, torch.rand, torch.rand_like, torch.normal, torch.Tensor.normal_,
                 torch.randint, torch.Tensor.uniform_)


class UnrolledTalker(nn.Module):
    """``forward(audio (B, S), identity (B, E), noise (B, T, D)[, step_noise (K, B, T, D)])
    -> motion (B, T, D)[, weights (B, T, D)]``: ``DiffusionTalker.sample`` on an identity embedding,
    its sampler's loop unrolled when traced, its noise draws taken from the inputs in the order it draws them."""

    def __init__(self, model, sampler: str | None, steps: int, guidance: float = 1.0, **sampler_options):
        super().__init__()
        self.model, self.steps, self.guidance = model, int(steps), float(guidance)
        self.sampler, self.sampler_options = sampler, sampler_options
        self.clip_to_unit = bool(model.config.is_arkit)

    def forward(self, audio: torch.Tensor, identity: torch.Tensor, noise: torch.Tensor,
                step_noise: torch.Tensor | None = None):
        draws = [noise] + ([] if step_noise is None else list(step_noise.unbind(0)))
        with NoiseDraws(draws):
            return self.run(audio, identity, noise.shape[1])

    def run(self, audio: torch.Tensor, identity: torch.Tensor, num_frames: int):
        """The sampling path itself (random draws as torch draws them, unless under :class:`NoiseDraws`)."""
        model = self.model
        cond = model.sampling_cond(model.encoder(audio, num_frames), identity)  # the path DiffusionTalker samples on
        x0 = model.generate_normalised(cond, self.sampler, self.steps, None, self.guidance,
                                       **self.sampler_options)  # (B, T, D)
        motion = x0 * model.motion_std + model.motion_mean  # (B, T, D), rig units
        return (motion, motion.clamp(0.0, 1.0)) if self.clip_to_unit else motion

    def count_step_draws(self) -> int:
        """How many per-step noise draws the sampler makes (0: deterministic), from a dry run on a short clip;
        refuses a sampler whose draws are not of the sample's shape."""
        config = self.model.config
        frames = 2
        audio = torch.zeros(1, max(_min_samples(self.model), round(frames / config.fps * config.sample_rate)))
        recorder = NoiseDraws()
        with torch.no_grad(), recorder:
            self.run(audio, self.model.personalizer.embed(None, 1), frames)
        expected = (1, frames, config.motion_dim)
        if any(shape != expected for shape in recorder.shapes):
            raise DtsdkError(f"sampler '{self.sampler}' draws noise of shapes {sorted(set(recorder.shapes))}; the "
                             f"export stands in only for draws of the sample's shape (B, T, {config.motion_dim})")
        if self.sampler and not recorder.shapes:
            raise DtsdkError(f"sampler '{self.sampler}' draws no starting noise; it cannot be exported")
        return max(len(recorder.shapes) - 1, 0)


def sampler_settings(model, sampler: str | None = None, steps: int | None = None, **options) -> dict:
    """What ``model.sample`` would run with these arguments: ``sampler`` (None for a model without one),
    ``steps`` and the sampler's keyword ``options`` (the checkpoint's own for its default sampler)."""
    from dtsdk.plugins import lookup

    config = model.config
    if not model.objective.uses_sampler:
        return {"sampler": None, "steps": 0, "options": {}}
    sampler = sampler or config.default_sampler
    lookup("sampler", sampler)  # an unknown name is a one-line PluginError naming the registered ones
    if sampler == config.default_sampler:
        options = {**config.sampler_options, **options}
    steps = int(steps or config.default_steps)
    if steps < 1:
        raise DtsdkError(f"steps must be at least 1, got {steps}")
    return {"sampler": sampler, "steps": steps, "options": options}


def sampling_noise(model, step_draws: int, batch: int, frames: int,
                   generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """The graph's noise inputs drawn in the order ``DiffusionTalker.sample`` draws them from ``generator``,
    so the graph reproduces ``model.sample(..., generator=same seed)``: ``noise`` (B, T, D), then
    ``step_noise`` (K, B, T, D) when the sampler draws ``step_draws`` = K > 0 times more."""
    shape = (batch, frames, model.config.motion_dim)
    noise = {"noise": torch.randn(shape, generator=generator)}
    if step_draws:
        noise["step_noise"] = torch.stack([torch.randn(shape, generator=generator) for _ in range(step_draws)])
    return noise


def identity_table(model, extra=()) -> dict:
    """The identities an engine can feed: the bank (by name), the null identity, and ``extra``
    requests (enrolled names, mixes) resolved through :mod:`dtsdk.identities`."""
    from dtsdk.identities import identity_embeddings, resolve_identity

    with torch.no_grad():
        bank = model.personalizer.bank.detach().float()  # (N, E)
        names, rows = list(model.config.identities), [r.tolist() for r in bank]
        for request in extra:
            resolved = resolve_identity(model, request, 1)
            names.append(resolved[0].name)
            rows.append(identity_embeddings(model, resolved)[0].float().tolist())
        null = model.personalizer.embed(None, 1)[0].float().tolist()
    return {"names": names, "embeddings": rows, "null": null}


def graph_metadata(model, label: str, settings: dict, step_draws: int, guidance: float, identities: dict) -> dict:
    """Everything an engine needs beside the graph (stored in the model's metadata and a sidecar JSON)."""
    config = model.config
    inputs = {"audio": ["B", "S"], "identity": ["B", config.personalizer.identity_dim],
              "noise": ["B", "T", config.motion_dim]}
    if step_draws:
        inputs["step_noise"] = [step_draws, "B", "T", config.motion_dim]
    outputs = {"motion": ["B", "T", config.motion_dim]}
    if config.is_arkit:
        outputs["weights"] = ["B", "T", config.motion_dim]
    return {"format_version": FORMAT_VERSION, "model": label, "objective": config.objective,
            "sample_rate": config.sample_rate, "fps": config.fps, "rig": config.rig,
            "motion_dim": config.motion_dim, "channels": _channel_names(config),
            "sampler": settings["sampler"], "steps": settings["steps"], "sampler_options": settings["options"],
            "step_draws": step_draws, "guidance": guidance, "min_samples": _min_samples(model),
            "inputs": inputs, "outputs": outputs, "identities": identities}


def export_model(model=None, output="student.onnx", format: str = "onnx", **kwargs) -> dict:
    """Export ``model`` (checkpoint dir, Hub id, DiffusionTalker or None for the packaged default)
    in ``format``; see :func:`export_onnx` for the options."""
    if format not in FORMATS:
        raise DtsdkError(f"unknown export format '{format}'; choose {', '.join(FORMATS)}")
    return export_onnx(model, output, **kwargs)


def export_onnx(model=None, output="student.onnx", sampler: str | None = None, steps: int | None = None,
                guidance: float = 1.0, identities=(), opset: int = OPSET, **sampler_options) -> dict:
    """Write ``output`` (the graph, one file) and ``output + ".json"`` (its metadata, identities
    included). ``sampler``/``steps``/``sampler_options`` (eta): default to the model's, as
    ``DiffusionTalker.sample``; ``guidance``: identity guidance weight baked into the graph;
    ``identities``: extra identity requests (enrolled names, mixes) to list beside the bank.
    Returns a summary (paths, inputs, outputs, sampler, steps, seconds, bytes)."""
    from dtsdk._optional import require
    from dtsdk.export.frontend import graph_ready
    from dtsdk.inference.talker import load_model
    from dtsdk.utils.atomic import atomic_open, atomic_path

    require("onnx", "onnx", "ONNX export")
    require("onnxscript", "onnx", "ONNX export (torch.onnx's exporter)")
    output = Path(output)
    _check_writable(output)
    started = time.perf_counter()
    model, label = load_model(model)
    settings = sampler_settings(model, sampler, steps, **sampler_options)
    if guidance != 1.0 and (model.is_generic or settings["sampler"] is None):
        raise DtsdkError("identity guidance needs a diffusion model trained with identities; export with guidance 1")
    graph = UnrolledTalker(graph_ready(copy.deepcopy(model)), settings["sampler"], settings["steps"], guidance,
                           **settings["options"]).eval()
    step_draws = graph.count_step_draws()
    metadata = graph_metadata(model, label, settings, step_draws, float(guidance), identity_table(model, identities))
    program = _trace(graph, _example_inputs(model, step_draws), opset)
    proto = program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(metadata)
    import onnx

    with atomic_path(output) as tmp:
        onnx.save_model(proto, os.fspath(tmp))
    sidecar = output.with_name(output.name + ".json")
    with atomic_open(sidecar, "w", encoding="utf-8") as f:
        json.dump(metadata, f, indent=1)
    return {"output": os.fspath(output), "metadata": os.fspath(sidecar), "model": label,
            "sampler": metadata["sampler"], "steps": metadata["steps"], "step_draws": step_draws,
            "inputs": metadata["inputs"], "outputs": metadata["outputs"], "bytes": output.stat().st_size,
            "seconds": round(time.perf_counter() - started, 2)}


def read_metadata(session_or_path) -> dict:
    """The metadata of an exported graph, from an onnxruntime session or the .onnx file's sidecar JSON."""
    if isinstance(session_or_path, (str, os.PathLike)):
        path = Path(os.fspath(session_or_path) + ".json")
        if not path.is_file():
            raise DtsdkError(f"{path}: no metadata beside the graph; export it again with `dtsdk export`")
        return json.loads(path.read_text())
    return json.loads(session_or_path.get_modelmeta().custom_metadata_map[METADATA_KEY])


# ---- internals -----------------------------------------------------------------------------------
def _channel_names(config) -> list[str]:
    """The rig's channel names when the model's motion is that rig's shapes (ARKit-52), else []."""
    from dtsdk.errors import PluginError
    from dtsdk.rigs import get_rig

    try:
        names = list(get_rig(config.rig).shape_names)
    except PluginError:  # a capture's vertex space that no plugin registers as a rig
        return []
    return names if len(names) == config.motion_dim else []


def _min_samples(model) -> int:
    """The shortest audio the graph takes: the log-mel's reflect padding needs more samples than n_fft / 2."""
    n_fft = getattr(getattr(model.encoder, "logmel", model.encoder), "n_fft", 0)
    return n_fft // 2 + 1


def _example_inputs(model, step_draws: int) -> tuple:
    """Two clips of 2 s (sizes above 1, so the exporter keeps every size dynamic)."""
    config = model.config
    frames = round(2 * config.fps)
    generator = torch.Generator().manual_seed(0)
    audio = 0.1 * torch.randn(2, 2 * config.sample_rate, generator=generator)
    identity = model.personalizer.embed(torch.tensor([0, -1]), 2).detach()
    noise = sampling_noise(model, step_draws, 2, frames, generator)
    return (audio, identity, noise["noise"]) + ((noise["step_noise"],) if "step_noise" in noise else ())


def _trace(graph: UnrolledTalker, example: tuple, opset: int):
    from torch.export import Dim

    batch, frames = Dim("batch", min=1), Dim("frames", min=1)
    samples = Dim("samples", min=max(_min_samples(graph.model), 2))
    shapes = {"audio": {0: batch, 1: samples}, "identity": {0: batch}, "noise": {0: batch, 1: frames}}
    names = ["audio", "identity", "noise"]
    if len(example) == 4:
        shapes["step_noise"] = {1: batch, 2: frames}
        names.append("step_noise")
    outputs = ["motion", "weights"] if graph.clip_to_unit else ["motion"]
    # torchvision's operators are not ours to export; the exporter warns about each one missing.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    # The exporter reports its progress on stdout, which `dtsdk ... --json` keeps for the result.
    with torch.no_grad(), contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        # The exporter's notes on deprecations and dimension names inside torch are not the user's to act on.
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*axis name.*will not be used")
        try:
            program = torch.onnx.export(graph, example, dynamo=True, dynamic_shapes=shapes, input_names=names,
                                        output_names=outputs, opset_version=opset, verbose=False, optimize=False)
        except Exception as exc:  # the exporter's own errors are pages long; the cause is its first line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DtsdkError(f"ONNX export failed ({type(exc).__name__}: {first}); rerun with --debug") from exc
    _fold_constants(program.model)
    return program


def _fold_constants(model) -> None:
    """Fold what does not depend on the inputs (each step's embedding of t, the schedule's numbers) and drop
    dead nodes. Not the exporter's own ``optimize``: its pattern rewrites grow faster than the graph, and an
    unrolled 100-step sampler took over 10 minutes in them; onnxruntime fuses operators at load anyway."""
    from onnx_ir.passes.common import ClearMetadataAndDocStringPass, RemoveUnusedNodesPass
    from onnxscript.optimizer import fold_constants

    fold_constants(model)
    RemoveUnusedNodesPass()(model)
    ClearMetadataAndDocStringPass()(model)  # the exporter's per-node stack traces: a third of the file


def _check_writable(output: Path) -> None:
    """Fail before the slow trace when ``output`` cannot be written."""
    if output.is_dir():
        raise DtsdkError(f"{output}: is a folder; give the .onnx file to write, e.g. -o {output / 'student.onnx'}")
    parent = output.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DtsdkError(f"{output}: cannot create its folder {parent} ({exc.strerror or exc})") from None
    if not os.access(parent, os.W_OK):
        raise DtsdkError(f"{output}: the folder {parent} is not writable")
