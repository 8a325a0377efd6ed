"""dtsdk-gcgan: a geometry-contrastive GAN (GC-GAN, arXiv 1802.01822) portrait plugin for dtsdk.

What it registers: the ``dtsdk portrait`` commands (train, transfer, interpolate, animate, samples;
:mod:`.cli`) through ``register_commands``, and the talking ``portrait`` renderer (:mod:`.talking`)
through ``register_renderers``, which ``dtsdk animate --portrait FACE.png`` draws with.
"""
from __future__ import annotations

import dtsdk

__version__ = "0.1.0"


@dtsdk.hookimpl
def register_commands(subparsers):
    from dtsdk_gcgan import cli

    cli.add(subparsers)


@dtsdk.hookimpl
def register_renderers(register):
    from dtsdk_gcgan.talking import PORTRAIT

    register("portrait", PORTRAIT, description=PORTRAIT.description)
