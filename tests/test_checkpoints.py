"""Checkpoints: exact round trips, and one SdaeError line for every bad file or device."""
import json
import os
import pickle
import random
import re
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from sdae.devices import check_device
from sdae.errors import SdaeError
from sdae.io.checkpoints import build, describe, load_model, save_model
from sdae.nn.convnets import DeepCNN, SmallCNN
from sdae.nn.models import Autoencoder, StackedAutoencoder, StackedClassifier, seeded

RESAVE = "re-save the model with sdae.io.checkpoints.save_model"
AE_SPEC = {"class": "Autoencoder", "n_in": 784, "n_hidden": 16, "tied": False}


@dataclass(frozen=True)
class RunConfig:
    name: str = "run"
    sizes: tuple = (784, 32, 16)
    out: Path = Path("runs/x")
    lr: float = 0.1


def randomized(model: nn.Module, seed: int = 0) -> nn.Module:
    """Every tensor random (a tied decoder bias starts at zero), so equality means something."""
    with seeded(seed), torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p))
    return model


def outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model.reconstruct(x) if isinstance(model, StackedAutoencoder) else model(x)


MODELS = {
    "untied-ae": lambda: Autoencoder(784, 16),
    "tied-ae": lambda: Autoencoder(784, 16, tied=True),
    "untied-stack": lambda: StackedAutoencoder([784, 32, 16]),
    "classifier-untied": lambda: StackedClassifier([784, 32, 16], False, 10),
    "classifier-tied": lambda: StackedClassifier([784, 32, 16], True, 10),
    "cnn": lambda: SmallCNN(10, 4),
    "deep-cnn": lambda: DeepCNN(10, 4),
}


@pytest.mark.parametrize("name", MODELS)
def test_round_trip_gives_equal_weights_and_outputs(tmp_path, name):
    model = randomized(MODELS[name]()).eval()
    path = save_model(tmp_path / "m.safetensors", model, RunConfig())
    rng = torch.random.get_rng_state()
    again, config = load_model(path)
    assert torch.equal(torch.random.get_rng_state(), rng)  # loading draws no random numbers
    assert type(again) is type(model) and not again.training and describe(again) == describe(model)
    assert again.state_dict().keys() == model.state_dict().keys()
    for k, v in model.state_dict().items():
        assert torch.equal(again.state_dict()[k], v), k
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in again.parameters())
    x = torch.rand(5, 784, generator=torch.Generator().manual_seed(1))
    assert torch.equal(outputs(again, x), outputs(model, x))
    assert config == {"name": "run", "sizes": [784, 32, 16], "out": "runs/x", "lr": 0.1}


@pytest.mark.parametrize("config", [None, {"a": 1, "b": [1, 2], "c": {"d": None}}])
def test_config_round_trips(tmp_path, config):
    path = save_model(tmp_path / "m.safetensors", Autoencoder(4, 2), config)
    assert load_model(path)[1] == config


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_round_trip_onto_cuda(tmp_path):
    model = randomized(Autoencoder(784, 16, tied=True)).eval()
    again, _ = load_model(save_model(tmp_path / "m.safetensors", model), "cuda:0")
    assert again.encoder.weight.device.type == "cuda"
    x = torch.rand(5, 784)
    torch.testing.assert_close(again(x.cuda()).cpu(), model(x))


def test_build_is_the_inverse_of_describe():
    for make in MODELS.values():
        model = make()
        assert describe(build(describe(model))) == describe(model)
    with pytest.raises(SdaeError, match="field 'n_in' must be a positive integer, not \"784\""):
        build({**AE_SPEC, "n_in": "784"})
    with pytest.raises(TypeError, match="cannot describe Linear"):
        describe(nn.Linear(2, 2))


# --- bad files ---------------------------------------------------------------------------


class MakesMarker:
    """A pickle that creates ``marker`` when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.contiguous() for k, v in model.state_dict().items()}


def with_meta(path: Path, model=None, **metadata) -> Path:
    """A safetensors file of ``model``'s tensors (a 784-16 autoencoder by default)."""
    save_file(tensors(model or Autoencoder(784, 16)), str(path), metadata=metadata or None)
    return path


def spec(**fields) -> str:
    return json.dumps({k: v for k, v in {**AE_SPEC, **fields}.items() if v is not ...})


def truncated(folder: Path) -> Path:
    path = with_meta(folder / "m", sdae_model=spec())
    return write(path, path.read_bytes()[:-100])


BAD_FILES = {
    "missing": (lambda p: p / "nope", "no checkpoint at {p}; give the path of a model.safetensors"),
    "directory": (lambda p: p, "{p} is a directory; give the path of the model.safetensors in it"),
    "empty": (lambda p: write(p / "m", b""),
              "{p} is empty, not a safetensors checkpoint; give a model.safetensors"),
    "random-bytes": (lambda p: write(p / "m", random.Random(0).randbytes(1000)),
                     "{p} is not a safetensors file (Error while deserializing header: header too "
                     "large); give a model.safetensors written by sdae"),
    "text": (lambda p: write(p / "m", "step,cost\n1,0.5\n"), "{p} is not a safetensors file"),
    "truncated": (truncated, "{p} is not a safetensors file (Error while deserializing header:"),
    "torch-save": (lambda p: torch.save(Autoencoder(784, 16).state_dict(), p / "m") or p / "m",
                   "{p} is a pickle or torch.save file, not safetensors, and sdae never unpickles "
                   f"(it can run code); {RESAVE}"),
    "torch-save-legacy": (lambda p: torch.save(Autoencoder(4, 2).state_dict(), p / "m",
                                               _use_new_zipfile_serialization=False) or p / "m",
                          "{p} is a pickle or torch.save file, not safetensors"),
    "no-metadata": (lambda p: with_meta(p / "m"),
                    f"{{p}} has no sdae_model metadata, so sdae did not write it; {RESAVE}"),
    "no-sdae_model": (lambda p: with_meta(p / "m", sdae_config="{}"), "{p} has no sdae_model"),
    "model-bad-json": (lambda p: with_meta(p / "m", sdae_model="{class: Autoencoder"),
                       "{p}: sdae_model metadata is not valid JSON (Expecting property name "
                       f"enclosed in double quotes: line 1 column 2 (char 1)); {RESAVE}"),
    "model-deep-json": (lambda p: with_meta(p / "m", sdae_model="[" * 100_000),
                        "{p}: sdae_model metadata is not valid JSON (maximum recursion depth"),
    "model-list": (lambda p: with_meta(p / "m", sdae_model="[784, 16]"),
                   f"{{p}}: sdae_model metadata must be a JSON object, not [784, 16]; {RESAVE}"),
    "model-nested-list": (lambda p: with_meta(p / "m", sdae_model="[" * 500 + "]" * 500),
                          "must be a JSON object, not [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[...;"),
    "model-number": (lambda p: with_meta(p / "m", sdae_model="7"), "must be a JSON object, not 7"),
    "model-string": (lambda p: with_meta(p / "m", sdae_model='"Autoencoder"'),
                     'must be a JSON object, not "Autoencoder"'),
    "model-null": (lambda p: with_meta(p / "m", sdae_model="null"),
                   "must be a JSON object, not null"),
    "unknown-class": (lambda p: with_meta(p / "m", sdae_model=spec(**{"class": "Transformer"})),
                      "{p}: bad sdae_model metadata: unknown model class \"Transformer\"; expected "
                      "one of Autoencoder, ConvAutoencoder, DeepCNN, SmallCNN, StackedAutoencoder, "
                      f"StackedClassifier; {RESAVE}"),
    "no-class": (lambda p: with_meta(p / "m", sdae_model=spec(**{"class": ...})),
                 "unknown model class null"),
    "missing-field": (lambda p: with_meta(p / "m", sdae_model=spec(tied=...)),
                      "Autoencoder needs exactly the fields n_in, n_hidden, tied, got n_in, "
                      "n_hidden;"),
    "extra-field": (lambda p: with_meta(p / "m", sdae_model=spec(dropout=0.1)),
                    "got n_in, n_hidden, tied, dropout;"),
    "n_hidden-string": (lambda p: with_meta(p / "m", sdae_model=spec(n_hidden="256")),
                        "{p}: bad sdae_model metadata: Autoencoder field 'n_hidden' must be a "
                        f"positive integer, not \"256\"; {RESAVE}"),
    "n_hidden-float": (lambda p: with_meta(p / "m", sdae_model=spec(n_hidden=16.0)),
                       "field 'n_hidden' must be a positive integer, not 16.0;"),
    "n_hidden-nan": (lambda p: with_meta(p / "m", sdae_model=spec(n_hidden=float("nan"))),
                     "field 'n_hidden' must be a positive integer, not NaN;"),
    "n_in-zero": (lambda p: with_meta(p / "m", sdae_model=spec(n_in=0)),
                  "field 'n_in' must be a positive integer, not 0;"),
    "n_in-negative": (lambda p: with_meta(p / "m", sdae_model=spec(n_in=-784)),
                      "field 'n_in' must be a positive integer, not -784;"),
    "n_in-bool": (lambda p: with_meta(p / "m", sdae_model=spec(n_in=True)),
                  "field 'n_in' must be a positive integer, not true;"),
    "tied-string": (lambda p: with_meta(p / "m", sdae_model=spec(tied="yes")),
                    "Autoencoder field 'tied' must be true or false, not \"yes\";"),
    "tied-int": (lambda p: with_meta(p / "m", sdae_model=spec(tied=1)),
                 "field 'tied' must be true or false, not 1;"),
    "sizes-string": (lambda p: with_meta(p / "m", sdae_model=json.dumps(
                         {"class": "StackedAutoencoder", "sizes": "784-100", "tied": False})),
                     "StackedAutoencoder field 'sizes' must be a list of two or more positive "
                     "integers, not \"784-100\";"),
    "sizes-one": (lambda p: with_meta(p / "m", sdae_model=json.dumps(
                      {"class": "StackedAutoencoder", "sizes": [784], "tied": False})),
                  "field 'sizes' must be a list of two or more positive integers, not [784];"),
    "sizes-zero": (lambda p: with_meta(p / "m", sdae_model=json.dumps(
                       {"class": "StackedClassifier", "sizes": [784, 0], "tied": False,
                        "n_classes": 10})),
                   "StackedClassifier field 'sizes' must be a list of two or more positive "
                   "integers, not [784, 0];"),
    "sizes-bool": (lambda p: with_meta(p / "m", sdae_model=json.dumps(
                       {"class": "StackedAutoencoder", "sizes": [784, True], "tied": False})),
                   "not [784, true];"),
    "sizes-long": (lambda p: with_meta(p / "m", sdae_model=json.dumps(
                       {"class": "StackedAutoencoder", "sizes": [3] * 100_000, "tied": False})),
                   "{p}: bad sdae_model metadata: it describes 99999 layers but the file holds "
                   f"4 tensors; {RESAVE}"),
    "cnn-width-string": (lambda p: with_meta(p / "m", sdae_model=json.dumps(
                             {"class": "SmallCNN", "n_classes": 10, "width": "32"})),
                         "SmallCNN field 'width' must be a positive integer, not \"32\";"),
    "config-bad-json": (lambda p: with_meta(p / "m", sdae_model=spec(), sdae_config="{'a': 1}"),
                        "{p}: sdae_config metadata is not valid JSON (Expecting property name "
                        f"enclosed in double quotes: line 1 column 2 (char 1)); {RESAVE}"),
    "config-list": (lambda p: with_meta(p / "m", sdae_model=spec(), sdae_config="[1, 2]"),
                    f"{{p}}: sdae_config metadata must be a JSON object or null, not [1, 2]; "
                    f"{RESAVE}"),
    "config-number": (lambda p: with_meta(p / "m", sdae_model=spec(), sdae_config="3.5"),
                      "sdae_config metadata must be a JSON object or null, not 3.5;"),
    "config-string": (lambda p: with_meta(p / "m", sdae_model=spec(), sdae_config='"x"'),
                      "sdae_config metadata must be a JSON object or null, not \"x\";"),
    "wrong-shape": (lambda p: with_meta(p / "m", sdae_model=spec(n_hidden=32)),
                    "{p}: its tensors do not match the Autoencoder its sdae_model metadata "
                    "describes (encoder.weight is F32[16, 784] in the file but F32[32, 784] in "
                    "the model; encoder.bias is F32[16] in the file but F32[32] in the model and "
                    f"1 more); {RESAVE}"),
    "tied-spec-untied-file": (lambda p: with_meta(p / "m", sdae_model=spec(tied=True)),
                              "(missing decoder_bias; unexpected decoder.bias and 1 more);"),
    "wrong-dtype": (lambda p: with_meta(p / "m", Autoencoder(784, 16).double(),
                                        sdae_model=spec()),
                    "(encoder.weight is F64[16, 784] in the file but F32[16, 784] in the model; "
                    "encoder.bias is F64[16] in the file but F32[16] in the model and 2 more);"),
    "cnn-spec-ae-file": (lambda p: with_meta(p / "m", sdae_model=json.dumps(
                             {"class": "SmallCNN", "n_classes": 10, "width": 32})),
                         "its tensors do not match the SmallCNN its sdae_model metadata describes "
                         "(missing features.0.weight; missing features.0.bias and 10 more);"),
    "too-large-to-build": (lambda p: with_meta(p / "m", sdae_model=spec(n_hidden=10**30)),
                           "{p}: sdae_model describes a model too large to build ("),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_file_gives_one_line_error(tmp_path, case):
    make, message = BAD_FILES[case]
    path = make(tmp_path)
    with pytest.raises(SdaeError) as info:
        load_model(path)
    text = str(info.value)
    assert message.format(p=path) in text
    assert "\n" not in text and str(path) in text and len(text) < 400


def test_a_pickle_is_never_unpickled(tmp_path):
    control, marker = tmp_path / "control", tmp_path / "marker"
    pickle.loads(pickle.dumps(MakesMarker(control)))
    assert control.exists()  # the payload works when unpickled...
    path = write(tmp_path / "model.safetensors", pickle.dumps(MakesMarker(marker)))
    with pytest.raises(SdaeError, match=re.escape(f"{path} is a pickle or torch.save file")):
        load_model(path)
    assert not marker.exists()  # ...and load_model did not unpickle it


def test_a_gigantic_model_is_refused_from_the_header_alone(tmp_path):
    """3 TB of weights described over 50 kB of tensors: were the model built before the header
    is checked, this would fail with an allocation error (or use the memory)."""
    path = with_meta(tmp_path / "m", sdae_model=spec(n_hidden=10**9))
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(SdaeError) as info:
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 5 and peak < 5_000_000
    assert ("encoder.weight is F32[16, 784] in the file but F32[1000000000, 784] in the "
            "model") in str(info.value)  # fmt: skip


def test_a_file_that_is_not_readable_is_refused(tmp_path):
    path = with_meta(tmp_path / "m", sdae_model=spec())
    os.chmod(path, 0)
    if os.access(path, os.R_OK):
        pytest.skip("running as root: permissions do not apply")
    with pytest.raises(SdaeError, match=f"cannot read {re.escape(str(path))} "):
        load_model(path)


# --- bad devices -------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["gpu", "CPU", " cpu", "mps", "cuda:", "cuda:-1", "cuda:01",
                                    "cuda:0 ", "cuda:x", "cpu:0", "", None, 0])  # fmt: skip
def test_unknown_device(tmp_path, device):
    message = f"unknown device {device!r}; use cpu, cuda or cuda:N"
    with pytest.raises(SdaeError, match=re.escape(message)):
        check_device(device)
    with pytest.raises(SdaeError, match=re.escape(message)):  # checked before the file
        load_model(tmp_path / "missing.safetensors", device)


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_when_there_is_none(tmp_path, monkeypatch, device):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    message = f"device {device!r}: CUDA is not available here; use cpu"
    with pytest.raises(SdaeError, match=re.escape(message)):
        load_model(with_meta(tmp_path / "m", sdae_model=spec()), device)


def test_cuda_index_beyond_the_devices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    for fine in ("cpu", "cuda", "cuda:0", "cuda:1"):
        check_device(fine)
    message = "device 'cuda:2': this machine has 2 CUDA device(s); use cuda:0 to cuda:1, or cpu"
    with pytest.raises(SdaeError, match=re.escape(message)):
        check_device("cuda:2")
