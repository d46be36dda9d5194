"""The ablation table: mean and sample std over seeds, and deltas paired seed by seed against the first variant."""

from __future__ import annotations

import csv

import pytest

from motforge.evaluate.ablation import paired_delta, write_ablation
from motforge.evaluate.headline import Headline


def _run(folder, hota: float, idf1: float):
    folder.mkdir(parents=True)
    Headline(HOTA=hota, DetA=40.0, AssA=hota - 10, IDF1=idf1, MOTA=50.0, IDSW=3).write(folder / "hota.txt")
    return folder


def test_table_means_stds_and_paired_deltas(tmp_path):
    dirs = [
        _run(tmp_path / "full0", 30.0, 40.0),
        _run(tmp_path / "full1", 34.0, 44.0),
        _run(tmp_path / "off0", 27.0, 41.0),
        _run(tmp_path / "off1", 32.0, 42.0),
        _run(tmp_path / "base", 20.0, 30.0),
    ]
    paper = {"no_x": {"sign": -1, "source": "X Table 1"}, "baseline": {"sign": 1, "source": "made up"}}
    text = write_ablation(dirs, ["full", "full", "no_x", "no_x", "baseline"], tmp_path / "ablation.csv", paper)
    rows = {r["variant"]: r for r in csv.DictReader(open(tmp_path / "ablation.csv"))}
    assert float(rows["full"]["HOTA_mean"]) == 32.0 and float(rows["full"]["HOTA_std"]) == pytest.approx(
        2.828, abs=1e-3
    )
    assert float(rows["no_x"]["HOTA_delta"]) == -2.5  # (27-30 + 32-34) / 2
    assert float(rows["no_x"]["IDF1_delta"]) == -0.5
    # paired differences -3 and -2: sd 0.7071, t(0.975, 1 dof) = 12.7062 -> half-width 12.7062 * 0.7071 / sqrt(2)
    assert float(rows["no_x"]["HOTA_ci95"]) == pytest.approx(6.353, abs=1e-3)
    assert rows["full"]["HOTA_ci95"] == "" and rows["baseline"]["HOTA_ci95"] == ""  # itself; one unpaired run
    assert (rows["no_x"]["paper_sign"], rows["no_x"]["agrees"], rows["no_x"]["paper_source"]) == (
        "-",
        "yes",
        "X Table 1",
    )
    assert (rows["baseline"]["paper_sign"], rows["baseline"]["agrees"]) == ("+", "no")
    assert rows["full"]["agrees"] == ""
    assert float(rows["baseline"]["HOTA_delta"]) == -12.0 and float(rows["baseline"]["HOTA_std"]) == 0.0
    assert (tmp_path / "ablation.png").stat().st_size > 1000 and "no_x" in text


def test_paired_delta_falls_back_to_difference_of_means():
    assert paired_delta([1.0, 3.0], [0.0, 1.0]) == 1.5
    assert paired_delta([5.0], [0.0, 2.0]) == 4.0
