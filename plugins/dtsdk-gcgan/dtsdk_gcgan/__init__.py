"""dtsdk-gcgan: a geometry-contrastive GAN (GC-GAN, arXiv 1802.01822) portrait plugin for dtsdk.

This slice: the synthetic training data (:mod:`.synthetic`), the model (:mod:`.model`), training
(:mod:`.train`) and the ``dtsdk portrait train`` command, registered through ``register_commands``.
"""
from __future__ import annotations

import dtsdk

__version__ = "0.1.0"


@dtsdk.hookimpl
def register_commands(subparsers):
    from dtsdk_gcgan import cli

    cli.add(subparsers)
