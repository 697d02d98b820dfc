"""The models that ship with sdae, as package data: each in its own folder, as an ``sdae dae``
run leaves it (``model.safetensors``, ``config.json``), with ``command.txt``, the one ``sdae``
command that re-makes it (on 2 CPU cores in under 30 minutes).

``photo-denoiser`` (:data:`PHOTO_DENOISER`): the blind conv DAE ``sdae denoise`` uses without
``--model``: impulse noise of any density from 0.02 to 0.7, trained on ``--data denoise-mix``
(:mod:`sdae.data.denoise_mix`: crops of scikit-image's photographs, dead-leaves images and
Fashion-MNIST), never on the photographs it is measured on. docs/denoise.md gives its scores.
Torch-free: this module only finds the files.
"""

from __future__ import annotations

import shlex
from importlib import resources
from pathlib import Path

from sdae.errors import SdaeError

PHOTO_DENOISER = "photo-denoiser"
#: what ``denoise.json`` and the messages call a shipped model (``sdae:photo-denoiser``)
PREFIX = "sdae:"


def folder(name: str = PHOTO_DENOISER) -> Path:
    """The folder of the shipped model ``name``; one line if the installation lacks it."""
    path = Path(str(resources.files(__name__) / name))
    if not (path / "model.safetensors").is_file():
        raise SdaeError(f"the shipped model {name!r} is missing from this installation "
                        f"({path}); reinstall sdae, or give --model RUN_DIR")  # fmt: skip
    return path


def command(name: str = PHOTO_DENOISER) -> list[str]:
    """The ``sdae`` command that re-makes ``name``, as arguments (``["sdae", "dae", ...]``)."""
    return shlex.split((folder(name) / "command.txt").read_text())
