"""Training objectives of a DiffusionTalker, one per file; the config's ``objective`` picks one.

- ``diffusion`` (:mod:`.diffusion`): the plain teacher, the denoiser diffusing the whole motion.
- ``residual`` (:mod:`.residual`): a mean network regresses the motion, the diffusion models the rest.
- ``regression`` (:mod:`.regression`): the deterministic baseline on the same backbone.

The interface is :class:`~dtsdk.model.objectives.base.Objective`.
"""
from dtsdk.model.objectives.base import Objective
from dtsdk.model.objectives.diffusion import DiffusionObjective
from dtsdk.model.objectives.regression import RegressionObjective
from dtsdk.model.objectives.residual import ResidualObjective

OBJECTIVES: dict[str, type[Objective]] = {cls.name: cls for cls in (DiffusionObjective, ResidualObjective,
                                                                     RegressionObjective)}

__all__ = ["OBJECTIVES", "Objective", "DiffusionObjective", "ResidualObjective", "RegressionObjective"]
