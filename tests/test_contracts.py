"""Every built-in runs the contract a third-party plugin runs (dtsdk.testing), from this one module.

The test classes are made from the registries, so a new built-in rig, encoder, sampler, exporter,
capture reader or renderer is covered as soon as it is registered; one that needs set-up (a checkpoint, a capture
on disk) fails here until it is given some below. Then: the rig contract on a ``Rig.from_gltf``
avatar and on a vertex rig, and the rig contract failing, with a useful message, on each of the
wrong rigs in ``wrong_rigs.py``.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from dtsdk.plugins import BUILTIN_PLUGINS, registry
from dtsdk.rigs import Rig, get_rig
from dtsdk.testing import (AudioEncoderContract, CaptureReaderContract, ExporterContract, RendererContract,
                           RigContract, SamplerContract)
from wrong_rigs import WRONG_RIGS


def builtin_names(kind: str) -> list[str]:
    return sorted(e.name for e in registry(kind).values() if e.plugin in BUILTIN_PLUGINS)


# ---- what some built-ins need to be tested ----------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_hubert_folder(tmp_path_factory):
    """A tiny random HuBERT checkpoint (transformers, from the dev extra, writes it)."""
    pytest.importorskip("transformers", reason="transformers (dev extra) writes the tiny HuBERT checkpoint")
    from test_hubert_encoder import tiny_model

    folder = tmp_path_factory.mktemp("tiny_hubert")
    tiny_model("hubert", "group", False).save_pretrained(folder)
    return folder


class _HubertCheckpoint:
    @pytest.fixture(autouse=True)
    def _checkpoint(self, tiny_hubert_folder):
        self.folder = tiny_hubert_folder

    def make_encoder(self):
        from dtsdk.encoders import build_encoder

        return build_encoder(self.encoder_name, model=str(self.folder)).eval()


def _livelink_capture(tmp_path):
    from test_capture_livelink import make_take

    make_take(tmp_path, "take_a", frames=30, fps=60, sample_rate=44100)
    make_take(tmp_path, "take_b", frames=45, fps=60, sample_rate=16000)
    return tmp_path


def _vocaset_capture(tmp_path):
    from test_capture_vocaset_biwi import VOCA_V, make_dataset

    make_dataset(tmp_path, VOCA_V, {"FaceTalk_A_sentence01": 12, "FaceTalk_B_sentence02": 10}, 60, 22050)
    return tmp_path


def _biwi_capture(tmp_path):
    from test_capture_vocaset_biwi import BIWI_V, make_dataset

    make_dataset(tmp_path, BIWI_V, {"F1_e01": 8, "M3_e37": 6}, 25, 16000)
    return tmp_path


ENCODER_SETUP = {"hubert": _HubertCheckpoint}
EXPORTER_ATOL = {"npz": 0.0, "llf-csv": 1e-6, "csv": 1e-6, "a2f-json": 1e-6, "glb": 1e-6}
CAPTURE_MAKERS = {"livelink": _livelink_capture, "vocaset": _vocaset_capture, "biwi": _biwi_capture}


def _no_capture_maker(name):
    def make_capture(self, tmp_path):
        raise AssertionError(f"built-in capture reader '{name}' has no capture to test on: add a maker for it "
                             "to CAPTURE_MAKERS in tests/test_contracts.py")
    return make_capture


def _contract_class(kind: str, name: str, contract: type, bases: tuple = (), **attrs) -> None:
    """Define ``Test<Kind>_<name>`` in this module, so pytest collects it."""
    label = re.sub(r"\W", "_", name)
    cls_name = f"Test{kind}_{label}"
    globals()[cls_name] = type(cls_name, (*bases, contract), {"__module__": __name__, **attrs})


for _name in builtin_names("rig"):
    _contract_class("Rig", _name, RigContract, rig_name=_name)
for _name in builtin_names("audio_encoder"):
    _setup = ENCODER_SETUP.get(_name)
    _contract_class("AudioEncoder", _name, AudioEncoderContract, (_setup,) if _setup else (), encoder_name=_name)
for _name in builtin_names("sampler"):
    _contract_class("Sampler", _name, SamplerContract, sampler_name=_name)
for _name in builtin_names("exporter"):
    _contract_class("Exporter", _name, ExporterContract, exporter_name=_name, atol=EXPORTER_ATOL.get(_name, 1e-3))
for _name in builtin_names("capture_reader"):
    _maker = CAPTURE_MAKERS.get(_name)
    _make = (lambda self, tmp_path, _m=_maker: _m(tmp_path)) if _maker else _no_capture_maker(_name)
    _contract_class("CaptureReader", _name, CaptureReaderContract, reader_name=_name, make_capture=_make)
for _name in builtin_names("renderer"):
    _contract_class("Renderer", _name, RendererContract, renderer_name=_name)


def test_every_builtin_kind_has_contract_classes():
    collected = {n.split("_", 1)[0] for n in globals() if n.startswith("Test")}
    assert {"TestRig", "TestAudioEncoder", "TestSampler", "TestExporter", "TestCaptureReader",
            "TestRenderer"} <= collected, (
        f"no contract classes for some kind of built-in: {sorted(collected)}")
    assert "TestCaptureReader_biwi" in globals(), "the biwi reader must run the capture-reader contract"


# ---- rigs that are not registered -----------------------------------------------------------------
@pytest.fixture(scope="class")
def gltf_avatar(request, tmp_path_factory):
    """A glTF avatar written from dtface, built once per class that uses it (as ``cls.avatar``)."""
    from dtsdk.animation import Animation

    path = tmp_path_factory.mktemp("gltf_rig") / "avatar.glb"
    Animation.zeros(2, rig="dtface").save(path)
    request.cls.avatar = Rig.from_gltf(path)


@pytest.mark.usefixtures("gltf_avatar")
class TestGltfAvatarRig(RigContract):
    """``Rig.from_gltf`` on dtface written as a GLB: what a user's ARKit avatar goes through."""

    has_metric_regions = False  # from_gltf leaves regions empty: such a rig is driven, not evaluated

    def make_rig(self):
        return self.avatar


class TestVertexRig(RigContract):
    """A vertex rig (VOCASET/BIWI style) on dtface's mesh: the shape checks skip, the mesh checks run."""

    def make_rig(self):
        face = get_rig("dtface")
        return Rig("dtface-vertices", "vertex", template_mm=face.template_mm, faces=face.faces,
                   regions=dict(face.regions))


def test_vertex_rig_skips_what_does_not_apply_with_a_reason():
    with pytest.raises(pytest.skip.Exception, match="vertex rig: its channels are not shapes"):
        TestVertexRig().test_left_shapes_act_on_the_subjects_left()


# ---- the contract fails on each wrong rig -----------------------------------------------------------
# wrong rig -> {failing check: what its message must say}. Other checks may fail too.
EXPECTED_FAILURES = {
    "metres": {"test_template_is_head_sized_in_millimetres": r"0\.325 mm across.*looks like metres.*by 1000",
               "test_arkit_map_drives_the_jaw_and_lips": r"only 0\.017\d* mm.*deltas_mm in metres"},
    "wound-inward": {"test_triangles_wind_outward": r"99% of the visible triangles face away.*faces\[:, ::-1\]"},
    "looking-down-minus-z": {
        "test_face_looks_toward_plus_z_with_y_up": r"mouth .* back part .*toward \+Z.*180 degrees about Y"},
    "z-up": {"test_face_looks_toward_plus_z_with_y_up": r"toward \+Z.*Z-up"},
    "left-right-swapped": {
        "test_left_shapes_act_on_the_subjects_left": r"eyeBlinkLeft.* wrong side.*\+X is the subject's left"},
    "lips-on-the-back-of-the-head": {
        "test_jaw_and_lip_shapes_move_the_lips_and_not_the_upper_face":
            r"jawOpen moves the mesh 17.* 'lips' region only 0 mm"},
    "lips-swapped-with-upper-face": {
        "test_jaw_and_lip_shapes_move_the_lips_and_not_the_upper_face":
            r"'lips' region only 0 mm, and the 'upper_face' region 1\d",
        "test_brow_shapes_move_the_upper_face_and_not_the_lips":
            r"'upper_face' region only 0 mm, and the 'lips' region \d"},
    "map-without-jaw-or-lips": {
        "test_arkit_map_drives_the_jaw_and_lips": r"jawOpen moves nothing.*arkit_map columns of jawOpen"},
    "boolean-mask-region": {"test_regions_are_vertex_index_arrays_inside_the_mesh": r"boolean mask.*np\.flatnonzero"},
}
CASES = [(rig, check, message) for rig, checks in EXPECTED_FAILURES.items() for check, message in checks.items()]


@pytest.fixture(scope="module")
def wrong_rigs():
    return {name: build() for name, build in WRONG_RIGS.items()}


def _contract_for(rig: Rig) -> RigContract:
    class OnWrongRig(RigContract):
        def make_rig(self):
            return rig

    return OnWrongRig()


def test_every_wrong_rig_has_an_expected_failure():
    assert set(EXPECTED_FAILURES) == set(WRONG_RIGS), "each wrong rig in wrong_rigs.py needs an expected failure"


@pytest.mark.parametrize("wrong, check, message", CASES, ids=[f"{r}-{c[5:]}" for r, c, _ in CASES])
def test_rig_contract_fails_on_a_wrong_rig(wrong_rigs, wrong, check, message):
    contract = _contract_for(wrong_rigs[wrong])
    with pytest.raises(AssertionError) as failure:
        getattr(contract, check)()
    text = " ".join(str(failure.value).split())
    assert re.search(message, text), f"the {check} message for the {wrong} rig does not explain it: {text}"
    assert f"'{wrong_rigs[wrong].name}'" in text, f"the message must name the rig: {text}"


@pytest.mark.parametrize("wrong", sorted(WRONG_RIGS))
def test_wrong_rigs_still_build_and_decode(wrong_rigs, wrong):
    """The mistakes are silent without the contract: each wrong rig is a valid Rig that decodes."""
    rig = wrong_rigs[wrong]
    rig.validate()
    verts = rig.decode(np.full((2, rig.motion_dim), 0.5, np.float32))
    assert np.isfinite(verts).all(), f"the {wrong} rig does not decode to finite vertices"


# ---- the exporter and the renderer walked through in docs/plugins.md pass their contracts ------------
def _documented_plugin(header: str):
    """The code block of docs/plugins.md that starts with ``header``, run as a module."""
    import types
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    [code] = [b for b in blocks if b.startswith(header)]
    module = types.ModuleType(header.strip("# \n").replace("/", "_"))
    exec(compile(code, "docs/plugins.md", "exec"), module.__dict__)
    return module


class TestDocumentedExporter(ExporterContract):
    exporter_name = "my-tsv"
    atol = 1e-6

    @pytest.fixture(autouse=True)
    def _registered(self, fresh_plugins):
        from dtsdk.testing import temporary_plugin

        with temporary_plugin(_documented_plugin("# my_tsv/__init__.py\n"), name="my_tsv"):
            yield


class TestDocumentedRenderer(RendererContract):
    renderer_name = "jaw-meter"

    @pytest.fixture(autouse=True)
    def _registered(self, fresh_plugins):
        from dtsdk.testing import temporary_plugin

        with temporary_plugin(_documented_plugin("# jaw_meter/__init__.py\n"), name="jaw_meter"):
            yield


def test_a_rig_built_with_a_boolean_mask_region_is_refused():
    from dtsdk.errors import RigError

    base = WRONG_RIGS["boolean-mask-region"]()
    with pytest.raises(RigError, match=r"region 'lips' is a boolean mask; pass its vertex indices, np\.flatnonzero"):
        Rig(name="mask", kind="blendshape", shape_names=base.shape_names, template_mm=base.template_mm,
            faces=base.faces, deltas_mm=base.deltas_mm, regions={"lips": base.regions["lips"]})
