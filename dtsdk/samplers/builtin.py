"""Built-in samplers, registered through the same hook as third-party samplers."""
from __future__ import annotations

from dtsdk.plugins import hookimpl


@hookimpl
def register_samplers(register):
    from dtsdk.samplers.ddim import sample_ddim
    from dtsdk.samplers.ddpm import sample_ddpm
    from dtsdk.samplers.distilled import sample_distilled

    register("ddim", sample_ddim, description="DDIM (Song et al. 2021), deterministic with eta=0")
    register("ddpm", sample_ddpm, description="Ancestral DDPM (Ho et al. 2020), respaced to any step count")
    register("distilled", sample_distilled,
             description="a distilled student (Salimans & Ho 2022) at a step count it was trained for")
