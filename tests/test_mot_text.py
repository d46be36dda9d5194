"""The strict MOTChallenge readers: accepted variants and line-precise errors."""

from __future__ import annotations

import pytest

from motforge.datasets.mot_text import read_mot_table, read_seqinfo, read_seqmap
from motforge.errors import InputError


def test_comma_space_rows_as_sportsmot_ships_them(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1, 0, 438, 269, 118, 169, 1, 1, 1\n2, 0, 440, 270, 118, 169, 1, 1, 1\n")
    table = read_mot_table(path, 9, 10, seq_length=2)
    assert table.values.shape == (2, 9)
    assert table.values[0, 2] == 438


def test_whitespace_rows_and_blank_lines(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1 1 10 10 5 5 1 1 1\n\n2 1 11 10 5 5 1 1 1\n")
    table = read_mot_table(path, 9, 9)
    assert list(table.lines) == [1, 3]


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("1,1,10,10,5,5,1,1,1\n1,2,10,10,5,5,1,1\n", 2, "wrong column count"),
        ("1,1,10,10,5,5,1,1,1\n2,1,1O,10,5,5,1,1,1\n", 2, "non-numeric field '1O'"),
        ("1,1,10,10,5,5,1,1,1\n9,1,10,10,5,5,1,1,1\n", 2, "frame 9 outside 1..5"),
        ("0,1,10,10,5,5,1,1,1\n", 1, "frame 0 outside"),
        ("1,1,10,10,0,5,1,1,1\n", 1, "non-positive box size"),
        ("1,1,10,10,5,5,1,1,1\n1,1,20,10,5,5,1,1,1\n", 2, "id 1 appears twice in frame 1"),
        ("1,1,10,10,5,5,1,1,1\n2 1 10 10 5 5 1 1 1\n", 2, "mixed delimiters"),
        ("1,1,10,10,5,5,1,1,1\n2,1 10,10,5,5,1,1,1\n", 2, "mixed delimiters"),
        ("1 1 10 10 5 5 1 1 1\n2,1,10,10,5,5,1,1,1\n", 2, "mixed delimiters"),
    ],
)
def test_errors_name_file_and_line(tmp_path, text, line, words):
    path = tmp_path / "gt.txt"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_mot_table(path, 9, 9, seq_length=5)
    assert info.value.line == line
    assert f"{path}:{line}:" in str(info.value)
    assert words in str(info.value)


def test_seqmap_needs_header(tmp_path):
    path = tmp_path / "val_seqmap.txt"
    path.write_text("dancetrack0001\ndancetrack0002\n")
    with pytest.raises(InputError, match="header 'name'") as info:
        read_seqmap(path)
    assert info.value.line == 1
    path.write_text("name\ndancetrack0001\n\ndancetrack0002\n")
    assert read_seqmap(path) == ["dancetrack0001", "dancetrack0002"]


def test_seqinfo_bad_value_names_line(tmp_path):
    path = tmp_path / "seqinfo.ini"
    path.write_text("[Sequence]\nname=a\nimDir=img1\nframeRate=20\nseqLength=-3\nimWidth=64\nimHeight=48\nimExt=.jpg")
    with pytest.raises(InputError, match="seqLength") as info:
        read_seqinfo(path)
    assert info.value.line == 5


def test_seqinfo_without_trailing_newline(tmp_path):
    path = tmp_path / "seqinfo.ini"
    path.write_text("[Sequence]\nname=a\nimDir=img1\nframeRate=25\nseqLength=3\nimWidth=1280\nimHeight=720\nimExt=.jpg")
    info = read_seqinfo(path)
    assert (info.seq_length, info.im_width, info.frame_rate) == (3, 1280, 25.0)
