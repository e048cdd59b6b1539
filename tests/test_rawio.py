"""Reads and writes at an offset go on after short transfers (legal on NFS and Lustre)."""

import os

import fitsio
import numpy as np
import pytest

from masterbias import rawio
from masterbias.combine import CombineSettings
from masterbias.errors import FrameError
from stacks import stack_and_combine


def dribbling(transfer, most):
    """``transfer`` (os.preadv or os.pwritev) moving at most ``most`` bytes per call."""
    calls = []

    def call(descriptor, buffers, offset):
        calls.append(offset)
        return transfer(descriptor, [memoryview(buffers[0])[:most]], offset)

    return call, calls


def test_short_reads_and_writes_are_continued_to_the_last_byte(tmp_path):
    path = tmp_path / "bytes.bin"
    content = np.random.default_rng(1).integers(0, 256, 1000, dtype=np.uint8)
    path.write_bytes(content.tobytes())
    preadv, reads = dribbling(os.preadv, 7)
    pwritev, writes = dribbling(os.pwritev, 5)
    descriptor = os.open(path, os.O_RDWR)
    try:
        band = np.empty(300, np.uint8)
        rawio.read_at(descriptor, band, 100, str(path), preadv=preadv)
        np.testing.assert_array_equal(band, content[100:400])
        assert len(reads) == 43 and reads[:3] == [100, 107, 114]

        rawio.write_at(descriptor, band[::-1].copy(), 500, str(path), pwritev=pwritev)
        assert len(writes) == 60 and writes[-1] == 795
    finally:
        os.close(descriptor)
    written = np.frombuffer(path.read_bytes(), np.uint8)
    np.testing.assert_array_equal(written[500:800], content[100:400][::-1])
    np.testing.assert_array_equal(written[:500], content[:500])
    np.testing.assert_array_equal(written[800:], content[800:])


def test_a_file_that_ends_before_the_read_is_named(tmp_path):
    path = tmp_path / "short.fits"
    path.write_bytes(bytes(100))
    preadv, _ = dribbling(os.preadv, 30)
    descriptor = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(FrameError, match=r"short\.fits: is cut short: it ends at byte 100"):
            rawio.read_at(descriptor, np.empty(64, np.uint8), 60, str(path), preadv=preadv)
    finally:
        os.close(descriptor)


def test_a_combine_on_short_transfers_makes_the_same_master(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    paths = []
    for number in range(7):
        path = tmp_path / f"frame{number}.fits"
        fitsio.write(str(path), rng.normal(0, 5, (41, 29)).astype(np.float32), clobber=True)
        paths.append(path)
    settings = CombineSettings.default()
    whole = tmp_path / "whole.fits"
    stack_and_combine(paths, whole, settings, 10**9, 2, fitsio.FITSHDR())

    preadv, reads = dribbling(os.preadv, 13)
    pwritev, writes = dribbling(os.pwritev, 11)
    monkeypatch.setattr(os, "preadv", preadv)
    monkeypatch.setattr(os, "pwritev", pwritev)
    dribbled = tmp_path / "dribbled.fits"
    stack_and_combine(paths, dribbled, settings, 10**9, 2, fitsio.FITSHDR())
    assert reads and writes
    assert dribbled.read_bytes() == whole.read_bytes()
