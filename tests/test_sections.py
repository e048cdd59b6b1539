"""The FITS section parser: the one place regions are read."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from masterbias.sections import Section, SectionError, parse_section

SHAPE = (4128, 2080)  # rows, columns: the guide's camera


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[2056:2080,*]", Section(2056, 2080, 1, 4128)),
        ("[2056:2080, 1:4128]", Section(2056, 2080, 1, 4128)),
        ("[1:2048,1:4096]", Section(1, 2048, 1, 4096)),
        ("  [ 5 , * ] ", Section(5, 5, 1, 4128)),
        ("[*,*]", Section(1, 2080, 1, 4128)),
    ],
)
def test_parses_fits_sections(text, expected):
    assert parse_section(text, SHAPE) == expected


def test_padded_header_section_as_saao_writes_it():
    section = parse_section("[   4:  13,   1: 520]", (520, 536))
    assert section == Section(4, 13, 1, 520)
    assert section.slices == (slice(0, 520), slice(3, 13))


def test_fits_and_numpy_forms_select_the_same_pixels():
    image = np.arange(4128 * 2080).reshape(SHAPE)
    section = parse_section("[2056:2080,*]", SHAPE)
    assert section.numpy == "[0:4128, 2055:2080]"
    assert section.fits == "[2056:2080,1:4128]"
    assert section.describe() == "FITS [2056:2080,1:4128] = numpy [0:4128, 2055:2080]"
    np.testing.assert_array_equal(image[section.slices], image[:, 2055:])
    assert section.shape == image[section.slices].shape


@pytest.mark.parametrize(
    "text, words",
    [
        ("[0:10,*]", "outside the image"),
        ("[1:2081,*]", "outside the image"),
        ("[1:10,1:4129]", "outside the image"),
        ("[10:1,*]", "reversed"),
        ("[1:10]", "malformed"),
        ("1:10,1:20", "malformed"),
        ("[a:b,*]", "malformed"),
        ("[1:10:2,*]", "malformed"),
        ("", "malformed"),
        (None, "not a string"),
    ],
)
def test_bad_sections_say_what_is_wrong(text, words):
    with pytest.raises(SectionError, match=words):
        parse_section(text, SHAPE)


def test_relations_between_sections():
    light = Section(1, 2048, 1, 4128)
    assert light.contains(Section(10, 20, 5, 6))
    assert not light.contains(Section(2040, 2050, 1, 10))
    assert light.overlaps(Section(2040, 2050, 1, 10))
    assert not light.overlaps(Section(2049, 2080, 1, 4128))
    assert Section(11, 20, 3, 4).relative_to(Section(11, 30, 3, 9)) == Section(1, 10, 1, 2)


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_section_error(text):
    try:
        section = parse_section(text, (50, 60))
    except SectionError:
        return
    assert 1 <= section.x1 <= section.x2 <= 60 and 1 <= section.y1 <= section.y2 <= 50


@given(
    st.integers(1, 60), st.integers(1, 60), st.integers(1, 50), st.integers(1, 50),
    st.integers(0, 3),
)  # fmt: skip
def test_round_trip_through_fits_text(a, b, c, d, pad):
    x1, x2, y1, y2 = min(a, b), max(a, b), min(c, d), max(c, d)
    space = " " * pad
    text = f"[{space}{x1}:{space}{x2},{space}{y1}:{y2}{space}]"
    section = parse_section(text, (50, 60))
    assert section == Section(x1, x2, y1, y2)
    assert parse_section(section.fits, (50, 60)) == section
