"""Contract tests for plugin authors (the diffusers shared-test pattern).

Subclass a contract in your own test suite and say what to test; pytest collects the inherited
``test_*`` methods::

    from dtsdk.testing import RigContract

    class TestMyRig(RigContract):
        rig_name = "my-rig"          # looked up through the plugin registry

dtsdk's own built-ins run these same contracts, all from ``tests/test_contracts.py``.
"""
from dtsdk.testing.contracts import AudioEncoderContract, CaptureReaderContract, ExporterContract, SamplerContract
from dtsdk.testing.plugins import temporary_plugin
from dtsdk.testing.renderer_contract import RendererContract
from dtsdk.testing.rig_contract import RigContract

__all__ = ["RigContract", "CaptureReaderContract", "AudioEncoderContract", "SamplerContract", "ExporterContract",
           "RendererContract", "temporary_plugin"]
