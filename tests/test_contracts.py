"""dtsdk's built-ins run the same contracts a third-party plugin runs (dtsdk.testing)."""
from dtsdk.testing import AudioEncoderContract, ExporterContract, RigContract, SamplerContract
from dtsdk.plugins import registry


class TestArkit52Rig(RigContract):
    rig_name = "arkit52"


class TestDtfaceRig(RigContract):
    rig_name = "dtface"


class TestLogMelEncoder(AudioEncoderContract):
    encoder_name = "logmel"


class TestDDIM(SamplerContract):
    sampler_name = "ddim"


class TestDDPM(SamplerContract):
    sampler_name = "ddpm"
