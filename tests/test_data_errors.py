"""Bad IDX files and data folders: always one SdaeError line naming the path, never a traceback.

Generated inputs (random bytes, cut or forged headers, garbage gzip) go through ``parse_idx``
and ``read_idx``; each call must return an array or raise SdaeError, and must not allocate
according to what a header declares (checked with tracemalloc).
"""

import gzip
import os
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# pytest puts tests/ (no __init__.py) on sys.path, so the helpers import by module name
from test_data import fake_folder, idx_bytes, write

from sdae.data import fashion_mnist, idx
from sdae.data.fashion_mnist import locate_data
from sdae.data.idx import parse_idx, read_idx
from sdae.errors import SdaeError

FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
U32 = st.integers(0, 2**32 - 1)


def _valid_idx(draw) -> bytes:
    shape = draw(st.sampled_from([(5,), (2, 3, 4), (1, 28, 28), (0,), (3, 0, 7)]))
    return idx_bytes(np.arange(int(np.prod(shape))).reshape(shape) % 256)


@st.composite
def idx_like(draw) -> bytes:
    """Bytes near the IDX format: noise, cut or padded files, wrong magic, huge dimensions."""
    kind = draw(st.sampled_from(["noise", "cut", "magic", "huge"]))
    tail = draw(st.binary(max_size=300))
    if kind == "noise":
        return tail
    if kind == "cut":
        raw = _valid_idx(draw) + draw(st.binary(max_size=3))
        return raw[: draw(st.integers(0, len(raw)))]
    if kind == "magic":
        magic = draw(U32.filter(lambda m: m not in idx.IDX_MAGIC))
        return struct.pack(">I", magic) + tail
    magic = draw(st.sampled_from(sorted(idx.IDX_MAGIC)))
    dims = draw(st.lists(U32, min_size=idx.IDX_MAGIC[magic], max_size=idx.IDX_MAGIC[magic]))
    return struct.pack(f">{1 + len(dims)}I", magic, *dims) + tail


@st.composite
def bad_gzip(draw) -> bytes:
    """Gzip files with a valid header but garbage, cut or bit-flipped compressed data."""
    packed = gzip.compress(draw(idx_like()), mtime=0)
    kind = draw(st.sampled_from(["garbage", "cut", "flip"]))
    if kind == "garbage":
        return packed[:10] + draw(st.binary(min_size=1, max_size=300))
    if kind == "cut":
        return packed[: draw(st.integers(0, len(packed) - 1))]
    i = draw(st.integers(10, len(packed) - 1))
    return packed[:i] + bytes([packed[i] ^ draw(st.integers(1, 255))]) + packed[i + 1 :]


def only_sdae_errors(call, name: str, size: int) -> None:
    """Run ``call``: it returns an array or raises a one-line SdaeError naming ``name``, and
    its peak traced memory stays below 10 bytes per input byte plus 1 MiB."""
    tracemalloc.start()
    try:
        result = call()
        assert isinstance(result, np.ndarray)
    except SdaeError as exc:
        msg = str(exc)
        assert name in msg and "\n" not in msg, msg
        assert "replace the file" in msg, msg
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 10 * size + 2**20, f"peak {peak} bytes for {size} input bytes"


@FUZZ
@given(raw=idx_like())
def test_parse_idx_fuzz_only_sdae_errors(raw):
    only_sdae_errors(lambda: parse_idx(raw, "fuzz-name"), "fuzz-name", len(raw))


@FUZZ
@given(raw=idx_like(), gz=st.booleans())
def test_read_idx_fuzz_plain_and_gz(tmp_path, raw, gz):
    path = write(tmp_path / ("f.gz" if gz else "f"), raw, gz)
    only_sdae_errors(lambda: read_idx(path), str(path), path.stat().st_size)


@FUZZ
@given(raw=st.one_of(bad_gzip(), st.binary(max_size=300)))
def test_read_idx_fuzz_broken_gzip(tmp_path, raw):
    path = tmp_path / "broken.gz"
    path.write_bytes(raw)
    only_sdae_errors(lambda: read_idx(path), str(path), len(raw))


def test_huge_dims_are_compared_exactly_not_allocated():
    raw = struct.pack(">4I", 0x803, 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"\x00" * 8
    declared = (2**32 - 1) ** 3  # overflows int64: must be exact in the message
    with pytest.raises(SdaeError, match=rf"header says .* = {declared} bytes, file holds 8"):
        parse_idx(raw, "huge")


def test_corrupt_gz_is_one_line(tmp_path):
    packed = gzip.compress(idx_bytes(np.zeros(50)))
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(packed[:10] + b"\xff" * 40)  # valid gzip header, no valid deflate stream
    with pytest.raises(SdaeError) as err:
        read_idx(path)
    assert str(err.value) == (
        f"{path}: cannot read it (corrupt gzip data: Error -3 while decompressing data: "
        "invalid block type); replace the file, or delete it and run `sdae data` again"
    )


def test_truncated_gz_is_one_line(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(50)))[:-12])
    with pytest.raises(SdaeError, match=r"cut.gz: cannot read it \(corrupt gzip data: Compressed"):
        read_idx(path)


def test_gzip_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "MAX_IDX_BYTES", 1000)
    path = write(tmp_path / "bomb.gz", bytes(5000), True)
    with pytest.raises(SdaeError, match=r"bomb.gz: over 1000 bytes, not Fashion-MNIST; replace"):
        read_idx(path)


@pytest.mark.parametrize("gz", [True, False])
def test_permission_denied_names_the_file(tmp_path, monkeypatch, gz):
    path = write(tmp_path / ("x.gz" if gz else "x"), idx_bytes(np.zeros(3)), gz)

    def denied(p):
        raise PermissionError(13, "Permission denied", str(p))

    monkeypatch.setattr(idx, "open_file", denied)
    with pytest.raises(SdaeError) as err:
        read_idx(path)
    assert str(err.value) == (
        f"{path}: cannot read it (Permission denied); make it readable (`chmod u+r {path}`) "
        "or replace the file, or delete it and run `sdae data` again"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_chmod_000_file(tmp_path):
    path = write(tmp_path / "locked.gz", idx_bytes(np.zeros(3)), True)
    path.chmod(0)
    with pytest.raises(SdaeError, match=r"locked.gz: cannot read it \(Permission denied\); make"):
        read_idx(path)


def test_idx_name_that_is_a_folder(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.mkdir()
    with pytest.raises(SdaeError) as err:
        read_idx(path)
    assert str(err.value) == (
        f"{path}: cannot read it (a folder, not a file); remove the folder and put the IDX "
        "file there"
    )


def test_data_dir_with_folder_in_place_of_a_file(tmp_path):
    fake_folder(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    (tmp_path / "train-images-idx3-ubyte").mkdir()
    with pytest.raises(SdaeError) as err:
        locate_data(tmp_path, download=False)
    assert str(err.value) == (
        f"{tmp_path / 'train-images-idx3-ubyte'} is a folder, not an IDX file; remove it and "
        "put the file there"
    )


def test_data_dir_that_is_a_file(tmp_path):
    path = write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(np.zeros(3)), True)
    with pytest.raises(SdaeError) as err:
        locate_data(path, download=False)
    assert str(err.value) == (
        f"{path} is a file, not a folder; pass --data-dir (or SDAE_DATA) the folder that "
        "holds the four IDX files"
    )


def test_data_dir_names_the_missing_files(tmp_path):
    fake_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(SdaeError) as err:
        locate_data(tmp_path, download=False)
    msg = str(err.value)
    assert msg.startswith(
        f"{tmp_path} does not hold the four Fashion-MNIST IDX files "
        "(missing t10k-labels-idx1-ubyte; .gz or plain); pass --data-dir"
    )
    assert "\n" not in msg


def _assert_unreadable_folder(folder) -> None:
    with pytest.raises(SdaeError) as err:
        locate_data(folder, download=False)
    assert str(err.value) == (
        f"{folder}: cannot read the folder (Permission denied); make it readable "
        f"(`chmod u+rx {folder}`) or pass --data-dir (or SDAE_DATA) the folder that holds "
        "the four IDX files"
    )


def test_data_dir_not_readable_simulated(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist.os, "access", lambda *args, **kwargs: False)
    _assert_unreadable_folder(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their mode")
def test_data_dir_chmod_000(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    fake_folder(folder).chmod(0)
    try:
        _assert_unreadable_folder(folder)
    finally:
        folder.chmod(0o755)
