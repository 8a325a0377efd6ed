"""The built-in renderer, registered through the same hook as third-party renderers."""
from __future__ import annotations

from dtsdk.plugins import hookimpl


@hookimpl
def register_renderers(register):
    from dtsdk.renderer.mesh import MESH

    register("mesh", MESH, description=MESH.description)
