"""Finding raw frames, reading their headers, selecting biases, and the header cache."""

import csv
import gzip
import os
import shutil

import fitsio
import numpy as np
import pytest

from masterbias.discovery import (
    HeaderCache,
    SelectionRule,
    find_raw_files,
    read_frames,
    write_summary,
)
from masterbias.errors import ConfigError, FrameError
from masterbias.fitsfile import calibrated_name, read_image_header


def write(path, data=None, header=None, extension=None):
    data = np.zeros((6, 8), np.uint16) if data is None else data
    if extension:
        with fitsio.FITS(str(path), "rw", clobber=True) as fits:
            fits.write(None, header=header)
            fits.write(data, header=extension)
    else:
        fitsio.write(str(path), data, header=header, clobber=True)
    return path


def test_header_reader_matches_fitsio_for_plain_gzip_and_extension_images(tmp_path):
    header = {"IMAGETYP": "Bias Frame", "EXPTIME": 0.0, "BIASSEC": "[   4:  6,   1: 6]"}
    plain = write(tmp_path / "a.fits", header=header)
    packed = tmp_path / "a.fits.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    mef = write(tmp_path / "m.fits", np.ones((5, 7), np.uint32), {"IMAGETYP": "BIAS"}, {"X": 1})
    for path in (plain, packed):
        found = read_image_header(path)
        assert (found.hdu, found.shape) == (0, (6, 8))
        assert found.header["IMAGETYP"].rstrip() == "Bias Frame"
        assert found.header["BIASSEC"] == fitsio.read_header(str(plain))["BIASSEC"]
    found = read_image_header(mef)
    assert (found.hdu, found.shape) == (1, (5, 7))
    assert found.header["IMAGETYP"].rstrip() == "BIAS" and found.header["X"] == 1


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "file is empty"),
        (b"SIMPLE  =                    T" + b" " * 50, "ends inside a FITS header"),
        (b"hello, I am a text file\n" * 200, "not a FITS file"),
    ],
)
def test_unreadable_files_are_named_with_the_reason(tmp_path, content, reason):
    path = tmp_path / "bad.fits"
    path.write_bytes(content)
    with pytest.raises(FrameError, match=reason) as caught:
        read_image_header(path)
    assert str(path) in str(caught.value)


def test_truncated_gzip_is_named(tmp_path):
    plain = write(tmp_path / "a.fits")
    packed = tmp_path / "t.fits.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes())[:40])
    with pytest.raises(FrameError, match="t.fits.gz"):
        read_image_header(packed)


def test_header_only_file_has_no_image(tmp_path):
    path = tmp_path / "empty.fits"
    fitsio.write(str(path), None, header={"IMAGETYP": "BIAS"}, clobber=True)
    with pytest.raises(FrameError, match="no 2-D image"):
        read_image_header(path)


def test_finds_fits_files_of_every_spelling_only(tmp_path):
    for name in ["a.fits", "b.FIT", "c.fts.gz", "d.fits.fz", "e.txt", "f.fits.bz2", ".hidden.fits"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.fits").mkdir()
    found = [os.path.basename(p) for p in find_raw_files(tmp_path)]
    assert found == ["a.fits", "b.FIT", "c.fts.gz", "d.fits.fz"]
    with pytest.raises(ConfigError, match="raw_dir"):
        find_raw_files(tmp_path / "missing")


def test_calibrated_names_drop_the_compression_suffix():
    assert calibrated_name("ccd.001.0.fits.gz") == "ccd.001.0.fits"
    assert calibrated_name("x.fits.fz") == "x.fits"
    assert calibrated_name("y.fit") == "y.fit"


def test_selection_ignores_case_and_spaces_and_compares_numbers(tmp_path):
    types = ["BIAS", "  bias ", "Bias Frame", "zero", "FLAT", "OBJECT"]
    for index, imagetyp in enumerate(types):
        write(tmp_path / f"f{index}.fits", header={"IMAGETYP": imagetyp, "EXPTIME": 0.0})
    write(tmp_path / "g.fits", header={"EXPTIME": 0.0})
    frames = read_frames(find_raw_files(tmp_path), HeaderCache(None))
    rule = SelectionRule.from_config({"IMAGETYP": ["BIAS", "ZERO", "Bias Frame"]})
    assert [f.name for f in rule.select(frames)] == ["f0.fits", "f1.fits", "f2.fits", "f3.fits"]
    assert rule.why_not(frames[4]) == "IMAGETYP = 'FLAT'"
    assert rule.why_not(frames[-1]) == "no IMAGETYP in the header"
    numeric = SelectionRule.from_config({"exptime": [0], "IMAGETYP": ["object", "flat"]})
    assert [f.name for f in numeric.select(frames)] == ["f4.fits", "f5.fits"]

    write_summary(frames, rule, tmp_path / "out" / "summary.csv")
    rows = list(csv.DictReader(open(tmp_path / "out" / "summary.csv")))
    assert [row["selected"] for row in rows] == ["True"] * 4 + ["False"] * 3
    assert rows[0] == {
        "file": "f0.fits", "imagetyp": "BIAS", "filter": "", "exptime": "0.0",
        "naxis1": "8", "naxis2": "6", "selected": "True", "reason": "",
    }  # fmt: skip


def test_cache_rereads_only_changed_files_and_forgets_removed_ones(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    raw.mkdir()
    for index in range(3):
        write(raw / f"b{index}.fits", header={"IMAGETYP": "BIAS", "N": index})
    cache_file = tmp_path / "cache.json"
    reads = []
    import masterbias.discovery as discovery

    real = discovery.read_image_header
    monkeypatch.setattr(discovery, "read_image_header", lambda p: reads.append(p) or real(p))

    def scan():
        reads.clear()
        cache = HeaderCache(cache_file)
        paths = find_raw_files(raw)
        frames = read_frames(paths, cache)
        cache.save(paths)
        return frames

    assert len(scan()) == 3 and len(reads) == 3
    assert len(scan()) == 3 and reads == []  # unchanged folder: nothing read

    write(raw / "b3.fits", header={"IMAGETYP": "BIAS"})  # added
    assert len(scan()) == 4 and [os.path.basename(p) for p in reads] == ["b3.fits"]

    write(raw / "b1.fits", np.ones((6, 9), np.uint16), {"IMAGETYP": "FLAT"})  # changed
    frames = scan()
    assert [os.path.basename(p) for p in reads] == ["b1.fits"]
    assert frames[1].keywords["IMAGETYP"] == "FLAT" and frames[1].shape == (6, 9)

    stat = os.stat(raw / "b2.fits")  # same size, new mtime
    os.utime(raw / "b2.fits", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    scan()
    assert [os.path.basename(p) for p in reads] == ["b2.fits"]

    (raw / "b0.fits").unlink()  # removed
    assert len(scan()) == 3 and reads == []
    assert str(raw / "b0.fits") not in cache_file.read_text()


def test_cache_is_not_written_unless_asked(tmp_path):
    write(tmp_path / "b.fits", header={"IMAGETYP": "BIAS"})
    cache = HeaderCache(tmp_path / "c" / "cache.json")
    read_frames(find_raw_files(tmp_path), cache)
    assert not (tmp_path / "c").exists()


def test_damaged_cache_is_rebuilt(tmp_path):
    write(tmp_path / "b.fits", header={"IMAGETYP": "BIAS"})
    (tmp_path / "cache.json").write_text("{not json")
    cache = HeaderCache(tmp_path / "cache.json")
    frames = read_frames(find_raw_files(tmp_path), cache)
    cache.save(find_raw_files(tmp_path))
    assert frames[0].keywords["IMAGETYP"] == "BIAS"
    assert "b.fits" in (tmp_path / "cache.json").read_text()


def test_copied_folder_is_read_again(tmp_path):
    (tmp_path / "a").mkdir()
    write(tmp_path / "a" / "b.fits")
    shutil.copytree(tmp_path / "a", tmp_path / "copy")
    cache = HeaderCache(tmp_path / "cache.json")
    read_frames(find_raw_files(tmp_path / "a"), cache)
    cache.changed = False
    read_frames(find_raw_files(tmp_path / "copy"), cache)
    assert cache.changed  # keyed by absolute path: another folder is other files
