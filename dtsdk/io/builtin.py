"""Built-in animation formats, registered through the same hook as third-party exporters."""
from __future__ import annotations

from dtsdk.plugins import hookimpl


@hookimpl
def register_exporters(register):
    from dtsdk.io.a2f_json import A2F_JSON
    from dtsdk.io.glb import GLB
    from dtsdk.io.llf_csv import LLF_CSV
    from dtsdk.io.npy import NPY
    from dtsdk.io.npz import NPZ
    from dtsdk.io.obj_seq import OBJ_SEQ
    from dtsdk.io.plain_csv import PLAIN_CSV

    register("npz", NPZ, description=NPZ.description)
    register("npy", NPY, description=NPY.description)
    register("llf-csv", LLF_CSV, description=LLF_CSV.description)
    register("csv", PLAIN_CSV, description=PLAIN_CSV.description)
    register("glb", GLB, description=GLB.description)
    register("a2f-json", A2F_JSON, description=A2F_JSON.description)
    register("obj-seq", OBJ_SEQ, description=OBJ_SEQ.description)
