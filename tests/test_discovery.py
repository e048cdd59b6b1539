"""Finding raw frames, reading their headers, selecting biases, and the header cache."""

import gzip
import os
import shutil

import fitsio
import numpy as np
import pytest

from masterbias.discovery import HeaderCache, SelectionRule, find_raw_files
from masterbias.errors import ConfigError, FrameError
from masterbias.fitsfile import calibrated_name
from masterbias.rawfile import read_raw_header


def scan(folder, cache=None, exclude=()):
    """The frames under ``folder``, read through ``cache``."""
    found = find_raw_files(folder, exclude)
    cache = cache or HeaderCache(None)
    return [cache.frame(str(folder), relpath) for relpath in found.relpaths]


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
        found = read_raw_header(path)
        assert [(image.index, image.shape) for image in found.images] == [(0, (6, 8))]
        assert found.keywords["IMAGETYP"] == "Bias Frame"
        assert found.keywords["BIASSEC"] == fitsio.read_header(str(plain))["BIASSEC"]
    found = read_raw_header(mef)
    assert [(image.index, image.shape) for image in found.images] == [(1, (5, 7))]
    assert found.keywords["IMAGETYP"] == "BIAS" and found.keywords["X"] == 1


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
        read_raw_header(path)
    assert str(path) in str(caught.value)


def test_truncated_gzip_is_named(tmp_path):
    plain = write(tmp_path / "a.fits")
    packed = tmp_path / "t.fits.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes())[:40])
    with pytest.raises(FrameError, match="t.fits.gz"):
        read_raw_header(packed)


def test_header_only_file_has_no_image(tmp_path):
    path = tmp_path / "empty.fits"
    fitsio.write(str(path), None, header={"IMAGETYP": "BIAS"}, clobber=True)
    with pytest.raises(FrameError, match="no 2-D image"):
        read_raw_header(path)


def test_finds_fits_files_of_every_spelling_only(tmp_path):
    for name in ["a.fits", "b.FIT", "c.fts.gz", "d.fits.fz", "e.txt", "f.fits.bz2", ".hidden.fits"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.fits").mkdir()
    found = find_raw_files(tmp_path)
    assert found.relpaths == ["a.fits", "b.FIT", "c.fts.gz", "d.fits.fz"] and found.notes == []
    with pytest.raises(ConfigError, match="raw_dir"):
        find_raw_files(tmp_path / "missing")


def test_sub_folders_are_searched_and_excluded_by_relative_path(tmp_path):
    for relpath in ["20260301/bias_001.fits", "20260302/bias_001.fits", "20260302/junk/x.fits",
                    "top.fits", ".snapshots/old.fits"]:  # fmt: skip
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_bytes(b"")
    assert find_raw_files(tmp_path).relpaths == [
        "20260301/bias_001.fits", "20260302/bias_001.fits", "20260302/junk/x.fits", "top.fits",
    ]  # fmt: skip
    found = find_raw_files(tmp_path, ["20260302/junk", "top.*"])
    assert found.relpaths == ["20260301/bias_001.fits", "20260302/bias_001.fits"]
    # a pattern without a folder matches the name in any folder
    assert find_raw_files(tmp_path, ["bias_001.fits"]).relpaths == ["20260302/junk/x.fits",
                                                                     "top.fits"]  # fmt: skip


def test_links_that_loop_or_lead_nowhere_are_skipped_with_a_line_each(tmp_path):
    write(tmp_path / "a.fits")
    (tmp_path / "night").mkdir()
    write(tmp_path / "night" / "b.fits")
    (tmp_path / "night" / "back").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "gone.fits").symlink_to(tmp_path / "nowhere.fits")
    (tmp_path / "loop1.fits").symlink_to(tmp_path / "loop2.fits")
    (tmp_path / "loop2.fits").symlink_to(tmp_path / "loop1.fits")
    found = find_raw_files(tmp_path)
    assert found.relpaths == ["a.fits", "night/b.fits"]
    text = "\n".join(found.notes)
    assert "gone.fits: a broken symbolic link" in text
    assert "loop1.fits: a loop of symbolic links" in text
    assert "night/back: a loop of symbolic links" in text
    # what is excluded is not even looked at
    quiet = find_raw_files(tmp_path, ["loop*", "gone.fits", "back"])
    assert quiet.relpaths == ["a.fits", "night/b.fits"] and quiet.notes == []


def test_calibrated_names_drop_the_compression_suffix():
    assert calibrated_name("ccd.001.0.fits.gz") == "ccd.001.0.fits"
    assert calibrated_name("x.fits.fz") == "x.fits"
    assert calibrated_name("y.fit") == "y.fit"


def test_selection_ignores_case_and_spaces_and_compares_numbers(tmp_path):
    types = ["BIAS", "  bias ", "Bias Frame", "zero", "FLAT", "OBJECT"]
    for index, imagetyp in enumerate(types):
        write(tmp_path / f"f{index}.fits", header={"IMAGETYP": imagetyp, "EXPTIME": 0.0})
    write(tmp_path / "g.fits", header={"EXPTIME": 0.0})
    frames = scan(tmp_path)
    rule = SelectionRule.from_config({"IMAGETYP": ["BIAS", "ZERO", "Bias Frame"]})
    selected = [f.name for f in frames if rule.why_not(f) is None]
    assert selected == ["f0.fits", "f1.fits", "f2.fits", "f3.fits"]
    assert rule.why_not(frames[4]) == "IMAGETYP = 'FLAT'"
    assert rule.why_not(frames[-1]) == "no IMAGETYP in the header"
    numeric = SelectionRule.from_config({"exptime": [0], "IMAGETYP": ["object", "flat"]})
    assert [f.name for f in frames if numeric.why_not(f) is None] == ["f4.fits", "f5.fits"]


def test_cache_rereads_only_changed_files_and_forgets_removed_ones(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    raw.mkdir()
    for index in range(3):
        write(raw / f"b{index}.fits", header={"IMAGETYP": "BIAS", "N": index})
    cache_file = tmp_path / "cache.json"
    reads = []
    import masterbias.discovery as discovery

    real = discovery.read_raw_header

    def counted(path, keep=None):
        reads.append(path)
        return real(path, keep)

    monkeypatch.setattr(discovery, "read_raw_header", counted)

    def cached_scan():
        reads.clear()
        cache = HeaderCache(cache_file)
        found = find_raw_files(raw)
        frames = [cache.frame(str(raw), relpath) for relpath in found.relpaths]
        cache.save([os.path.join(raw, relpath) for relpath in found.relpaths])
        return frames

    assert len(cached_scan()) == 3 and len(reads) == 3
    assert len(cached_scan()) == 3 and reads == []  # unchanged folder: nothing read

    write(raw / "b3.fits", header={"IMAGETYP": "BIAS"})  # added
    assert len(cached_scan()) == 4 and [os.path.basename(p) for p in reads] == ["b3.fits"]

    write(raw / "b1.fits", np.ones((6, 9), np.uint16), {"IMAGETYP": "FLAT"})  # changed
    frames = cached_scan()
    assert [os.path.basename(p) for p in reads] == ["b1.fits"]
    assert frames[1].keywords["IMAGETYP"] == "FLAT" and frames[1].shape == (6, 9)

    stat = os.stat(raw / "b2.fits")  # same size, an older mtime (cp -p, rsync -a)
    os.utime(raw / "b2.fits", ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**9))
    cached_scan()
    assert [os.path.basename(p) for p in reads] == ["b2.fits"]

    (raw / "b0.fits").unlink()  # removed
    assert len(cached_scan()) == 3 and reads == []
    assert str(raw / "b0.fits") not in cache_file.read_text()


def test_cache_is_not_written_unless_asked(tmp_path):
    write(tmp_path / "b.fits", header={"IMAGETYP": "BIAS"})
    cache = HeaderCache(tmp_path / "c" / "cache.json")
    scan(tmp_path, cache)
    assert not (tmp_path / "c").exists()


def test_damaged_cache_is_rebuilt(tmp_path):
    write(tmp_path / "b.fits", header={"IMAGETYP": "BIAS"})
    (tmp_path / "cache.json").write_text("{not json")
    cache = HeaderCache(tmp_path / "cache.json")
    frames = scan(tmp_path, cache)
    cache.save([str(tmp_path / "b.fits")])
    assert frames[0].keywords["IMAGETYP"] == "BIAS"
    assert "b.fits" in (tmp_path / "cache.json").read_text()


def test_copied_folder_is_read_again(tmp_path):
    (tmp_path / "a").mkdir()
    write(tmp_path / "a" / "b.fits")
    shutil.copytree(tmp_path / "a", tmp_path / "copy")
    cache = HeaderCache(tmp_path / "cache.json")
    scan(tmp_path / "a", cache)
    cache.changed = False
    scan(tmp_path / "copy", cache)
    assert cache.changed  # keyed by absolute path: another folder is other files
