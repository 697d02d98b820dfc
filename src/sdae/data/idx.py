"""The IDX file format (LeCun's MNIST format): reading it, capped and checked, from plain or
gzip files, trusting no header field.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import zlib
from pathlib import Path

import numpy as np

from sdae.errors import SdaeError

IDX_MAGIC = {0x00000801: 1, 0x00000803: 3}  # unsigned-byte labels (1 dim), images (3 dims)


# Above the largest file (47,040,016 bytes): a gzip bomb is one line, not exhausted memory.
MAX_IDX_BYTES = 64 * 2**20


_CHUNK = 64 * 2**10  # small reads: one large read() preallocates its whole size


REPLACE = "replace the file, or delete it and run `sdae data` again"


def open_file(path: Path):  # one place to open data files (tests make it fail)
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _read_capped(f, path: Path, limit: int | None = None) -> bytes:
    """All bytes of ``f`` in small chunks, refusing more than ``limit`` (default
    ``MAX_IDX_BYTES``, above Fashion-MNIST's largest file)."""
    chunks, total = [], 0
    while chunk := f.read(_CHUNK):
        total += len(chunk)
        if limit is None and total > MAX_IDX_BYTES:
            raise SdaeError(f"{path}: over {MAX_IDX_BYTES} bytes, not Fashion-MNIST; {REPLACE}")
        if limit is not None and total > limit:
            raise SdaeError(f"{path}: over {limit} bytes once decompressed, more than sdae "
                            "reads from one IDX file; split the data set or give fewer images")
        chunks.append(chunk)
    return b"".join(chunks)


def read_idx_file(path: str | Path, limit: int) -> tuple[np.ndarray, str]:
    """A user's IDX file (``.gz`` or plain, at most ``limit`` bytes once decompressed):
    ``(array, SHA-256 of its IDX bytes)``, every problem one :class:`SdaeError` line."""
    path = Path(path)
    raw = _read_bytes(path, limit)
    return parse_idx(raw, str(path)), hashlib.sha256(raw).hexdigest()


def _read_bytes(path: Path, limit: int | None = None) -> bytes:
    """The IDX bytes of ``path``; every way a file can be unreadable is one line naming it
    (corrupt gzip raises zlib.error, BadGzipFile or EOFError, not just OSError)."""
    try:
        with open_file(path) as f:
            return _read_capped(f, path, limit)
    except (OSError, EOFError, zlib.error) as exc:
        reason, fix = getattr(exc, "strerror", None) or str(exc), REPLACE
        if isinstance(exc, PermissionError):
            fix = f"make it readable (`chmod u+r {path}`) or {REPLACE}"
        elif isinstance(exc, IsADirectoryError):
            reason, fix = "a folder, not a file", "remove the folder and put the IDX file there"
        elif isinstance(exc, (zlib.error, gzip.BadGzipFile, EOFError)):
            reason = f"corrupt gzip data: {exc}"
        raise SdaeError(f"{path}: cannot read it ({reason}); {fix}") from None


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes (unsigned-byte type only) into a uint8 array, trusting no header field.

    Shapes: labels ``[N]``, images ``[N, rows, cols]``. The declared size is only compared
    with the bytes present, never allocated: a forged header cannot exhaust memory.
    """
    if len(raw) < 4:
        raise SdaeError(f"{name}: only {len(raw)} bytes, too short for IDX; replace the file")
    magic = int.from_bytes(raw[:4], "big")
    if magic not in IDX_MAGIC:
        raise SdaeError(
            f"{name}: wrong magic number 0x{magic:08x} (expected 0x00000801 for labels or "
            "0x00000803 for images); not an IDX file of unsigned bytes: replace the file"
        )
    ndim = IDX_MAGIC[magic]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise SdaeError(f"{name}: truncated header ({len(raw)}/{header} bytes); replace the file")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = math.prod(dims)  # exact: up to (2**32 - 1) ** 3 would overflow int64
    if len(raw) - header != expected:
        raise SdaeError(
            f"{name}: truncated or padded data: header says {'x'.join(map(str, dims))} = "
            f"{expected} bytes, file holds {len(raw) - header}; replace the file"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def read_idx(path: str | Path, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or plain); when ``sha256`` is given, check the IDX bytes."""
    path = Path(path)
    raw = _read_bytes(path)
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise SdaeError(
            f"{path}: SHA-256 of its contents does not match Fashion-MNIST's "
            "(corrupt or another data set); delete it and run `sdae data` again"
        )
    return parse_idx(raw, str(path))
