"""Arbitrary bytes and headers never crash the header reader with anything but FrameError."""

import gzip

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from masterbias.errors import FrameError
from masterbias.rawfile import BLOCK, read_raw_header

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def card(text: str) -> bytes:
    return text.encode("ascii", "replace")[:80].ljust(80)


def header_bytes(cards: list[bytes]) -> bytes:
    raw = b"".join(cards) + card("END")
    return raw.ljust(-(-len(raw) // BLOCK) * BLOCK, b" ")


def read_or_frame_error(path):
    try:
        found = read_raw_header(path)
    except FrameError as err:
        assert str(path) in str(err) and "\n" not in str(err)
        return None
    assert all(min(image.shape) > 0 for image in found.images)
    return found


@FUZZ
@given(st.binary(max_size=6000))
def test_arbitrary_bytes(tmp_path, content):
    path = tmp_path / "fuzz.fits"
    path.write_bytes(content)
    read_or_frame_error(path)
    packed = tmp_path / "fuzz.fits.gz"
    packed.write_bytes(gzip.compress(content))
    read_or_frame_error(packed)
    packed.write_bytes(content)  # not gzip at all, but named so
    read_or_frame_error(packed)


KEYWORD = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_ ", min_size=1, max_size=8)
VALUE = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=False).map(repr),
    st.text(max_size=60).map(lambda s: "'" + s.replace("'", "''") + "'"),
    st.text(max_size=70),
)


@FUZZ
@given(
    st.lists(st.tuples(KEYWORD, VALUE), max_size=30),
    st.sampled_from(["16", "-32", "8", "0", "x"]),
    st.sampled_from(["2", "0", "3", "-1", "q"]),
    st.integers(-5, 70),
    st.integers(-5, 70),
)
def test_arbitrary_headers(tmp_path, extra, bitpix, naxis, nx, ny):
    cards = [card("SIMPLE  =                    T"), card(f"BITPIX  = {bitpix}")]
    cards += [card(f"NAXIS   = {naxis}"), card(f"NAXIS1  = {nx}"), card(f"NAXIS2  = {ny}")]
    cards += [card(f"{key:<8}= {value}") for key, value in extra]
    path = tmp_path / "h.fits"
    path.write_bytes(header_bytes(cards))
    read_or_frame_error(path)


def test_a_header_claiming_terabytes_of_data_is_not_read_into_memory(tmp_path):
    cards = [card("SIMPLE  =                    T"), card("BITPIX  = 8"), card("NAXIS   = 1")]
    cards.append(card("NAXIS1  = 1000000000000"))
    path = tmp_path / "huge.fits"
    path.write_bytes(header_bytes(cards))
    assert read_or_frame_error(path) is None
