"""The shared helpers in dtsdk.utils: device and autocast choice, the strict settings reader."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import pytest
import torch

from dtsdk.errors import ConfigError, DtsdkError
from dtsdk.utils.config import dataclass_from_dict, reject_unknown_keys
from dtsdk.utils.device import autocast, autocast_dtype, resolve_device


# ---- device ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("asked", [None, "auto"])
def test_no_device_means_cuda_when_available(asked):
    assert resolve_device(asked).type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_explicit_devices_pass_through():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("asked", ["cuda", "cuda:1"])
def test_absent_cuda_is_a_one_line_error(asked):
    with pytest.raises(DtsdkError, match=f"device '{asked}' was asked for, but torch sees no CUDA") as err:
        resolve_device(asked)
    assert "\n" not in str(err.value)


def test_unknown_device_names_the_choices():
    with pytest.raises(DtsdkError, match="unknown device 'gpu'; use auto, cpu, cuda or cuda:N"):
        resolve_device("gpu")


def test_cpu_runs_in_full_precision():
    cpu = torch.device("cpu")
    assert autocast_dtype(cpu) is None
    assert isinstance(autocast(cpu), contextlib.nullcontext)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_autocasts_to_half_precision():
    cuda = torch.device("cuda")
    assert autocast_dtype(cuda) in (torch.bfloat16, torch.float16)
    with autocast(cuda):
        assert (torch.ones(2, 2, device=cuda) @ torch.ones(2, 2, device=cuda)).dtype == autocast_dtype(cuda)


# ---- settings -------------------------------------------------------------------------------------
@dataclass
class _Inner:
    width: int = 4


@dataclass
class _Outer:
    name: str = "x"
    inner: _Inner = field(default_factory=_Inner)


def test_settings_build_nested_dataclasses_and_keep_defaults():
    built = dataclass_from_dict(_Outer, {"inner": {"width": 8}}, "outer.yaml", nested={"inner": _Inner})
    assert built == _Outer("x", _Inner(8))


def test_unknown_settings_are_one_line_errors_naming_where_and_the_known_ones():
    with pytest.raises(ConfigError, match=r"^outer.yaml: unknown setting\(s\) nmae; known: name, inner$"):
        dataclass_from_dict(_Outer, {"nmae": "y"}, "outer.yaml")
    with pytest.raises(ConfigError, match=r"^outer.yaml.inner: unknown setting\(s\) a, b; known: width$"):
        dataclass_from_dict(_Outer, {"inner": {"b": 1, "a": 2}}, "outer.yaml", nested={"inner": _Inner})
    with pytest.raises(ValueError):  # ConfigError is a ValueError too, as the readers raised before
        reject_unknown_keys({"z": 1}, ["y"], "style")


def test_settings_must_be_a_mapping():
    with pytest.raises(ConfigError, match="outer.yaml: expected a mapping of settings, got list"):
        dataclass_from_dict(_Outer, ["name"], "outer.yaml")


def test_every_config_reader_uses_the_one_reader():
    from dtsdk.corpus.recipe import CorpusRecipe
    from dtsdk.corpus.style import SpeakerStyle
    from dtsdk.model.config import DiffusionTalkerConfig
    from dtsdk.train.recipe import TrainRecipe

    for read, where in [(lambda: CorpusRecipe.from_dict({"fsp": 1}, "c.yaml"), "c.yaml"),
                        (lambda: TrainRecipe.from_dict({"fsp": 1}, "t.yaml"), "t.yaml"),
                        (lambda: DiffusionTalkerConfig.from_dict({"fsp": 1}), "DiffusionTalkerConfig"),
                        (lambda: SpeakerStyle.from_dict({"fsp": 1}), "speaker style")]:
        with pytest.raises(ConfigError, match=rf"^{where}: unknown setting\(s\) fsp; known: "):
            read()
