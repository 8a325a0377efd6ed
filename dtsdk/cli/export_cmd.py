"""``dtsdk export [MODEL] --format onnx -o student.onnx``: thin over :func:`dtsdk.export.export_model`;
``--json`` prints what was written (paths, inputs, outputs, sampler, steps)."""
from __future__ import annotations

import logging

log = logging.getLogger("dtsdk.export")


def add(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a model to another runtime (ONNX, for onnxruntime and engines)")
    p.add_argument("model", nargs="?", help="checkpoint directory or Hub repo id (default: the packaged default model)")
    p.add_argument("--format", default="onnx", help="export format (default onnx; the only one so far)")
    p.add_argument("-o", "--output", required=True, help="the file to write, e.g. student.onnx (its metadata and "
                                                         "identities go beside it as student.onnx.json)")
    p.add_argument("--sampler", help="sampler unrolled in the graph (default: the model's)")
    p.add_argument("--steps", type=int, help="sampling steps (default: the model's)")
    p.add_argument("--eta", type=float, help="ancestral noise of ddim/distilled (default: the model's, else 0)")
    p.add_argument("--guidance", type=float, default=1.0, help="identity guidance weight baked in (default 1 = none)")
    p.add_argument("--identity", action="append", default=[], metavar="NAME",
                   help="also list this identity's embedding in the metadata (an enrolled name, a mix); repeatable")
    p.set_defaults(func=run)


def run(args):
    from dtsdk.export import export_model

    options = {} if args.eta is None else {"eta": args.eta}
    result = export_model(args.model, args.output, format=args.format, sampler=args.sampler, steps=args.steps,
                          guidance=args.guidance, identities=args.identity, **options)
    log.info("wrote %s (%.1f MB, %s with %d steps) and %s in %.0f s", result["output"], result["bytes"] / 1e6,
             result["sampler"] or "no sampler", result["steps"], result["metadata"], result["seconds"])
    return result
