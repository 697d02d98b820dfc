"""Which devices a run may name: ``cpu``, ``cuda`` or ``cuda:N`` (N a GPU that exists)."""

from __future__ import annotations

import re

from sdae.errors import SdaeError


def check_device(device: str) -> None:
    """Fail at once, with the fix, on a device torch cannot use here, before any data is
    read or any work is done."""
    if device == "cpu":
        return
    if not isinstance(device, str) or not re.fullmatch(r"cuda(:(0|[1-9][0-9]*))?", device):
        raise SdaeError(f"unknown device {device!r}; use cpu, cuda or cuda:N")
    import torch  # here: checking cpu needs no torch

    if not torch.cuda.is_available():
        raise SdaeError(f"device {device!r}: CUDA is not available here; use cpu")
    count = torch.cuda.device_count()
    if int(device[5:] or 0) >= count:
        raise SdaeError(f"device {device!r}: this machine has {count} CUDA device(s); "
                        f"use cuda:0 to cuda:{count - 1}, or cpu")  # fmt: skip
