"""dtsdk's built-ins run the same contracts a third-party plugin runs (dtsdk.testing)."""
from dtsdk.testing import AudioEncoderContract, CaptureReaderContract, ExporterContract, RigContract, SamplerContract
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


class TestLiveLinkReader(CaptureReaderContract):
    reader_name = "livelink"

    def make_capture(self, tmp_path):
        from test_capture_livelink import make_take

        make_take(tmp_path, "take_a", frames=30, fps=60, sample_rate=44100)
        make_take(tmp_path, "take_b", frames=45, fps=60, sample_rate=16000)
        return tmp_path


class TestVocasetReader(CaptureReaderContract):
    reader_name = "vocaset"

    def make_capture(self, tmp_path):
        from test_capture_vocaset_biwi import make_dataset

        make_dataset(tmp_path, 5023, {"FaceTalk_A_sentence01": 12, "FaceTalk_B_sentence02": 10}, 60, 22050)
        return tmp_path
