"""Built-in animation formats, registered through the same hook as third-party exporters."""
from __future__ import annotations

from dtsdk.plugins import hookimpl


@hookimpl
def register_exporters(register):
    from dtsdk.io.glb import GLB
    from dtsdk.io.llf_csv import LLF_CSV
    from dtsdk.io.npy import NPY
    from dtsdk.io.npz import NPZ
    from dtsdk.io.plain_csv import PlainCsv

    register("npz", NPZ, description=NPZ.description)
    register("npy", NPY, description=NPY.description)
    register("llf-csv", LLF_CSV, description=LLF_CSV.description)
    register("csv", PlainCsv(), description=PlainCsv.description)
    register("glb", GLB, description=GLB.description)
