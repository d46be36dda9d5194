"""Run TrackEval's MotChallenge2DBox with HOTA, CLEAR and Identity on MOTChallenge-style folders.

TrackEval wants a fixed folder layout (GT_FOLDER/<seq>/gt/gt.txt + seqinfo.ini, TRACKERS_FOLDER/<tracker>/data/
<seq>.txt) and writes into its package folder unless told otherwise; this module builds that layout in a temporary
folder from the user's files, runs the official evaluator, and keeps the summary and per-sequence tables.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from motforge.datasets.mot_text import read_mot_table, read_seqinfo, read_seqmap
from motforge.errors import InputError, MotforgeError
from motforge.evaluate.headline import Headline
from motforge.io.atomic import atomic_path

TRACKER_NAME = "tracker"
KEPT_FILES = ("pedestrian_summary.txt", "pedestrian_detailed.csv")


def validate_tracker_file(path: Path, seq_length: int) -> None:
    """Stop early with the file and line when a result file would make TrackEval fail or silently misread it."""
    table = read_mot_table(path, min_columns=7, max_columns=10, seq_length=seq_length, positive_size=False)
    if table.num_rows and table.values.shape[1] >= 8:
        classes = table.values[:, 7]
        bad = np.flatnonzero(classes > 1)
        if bad.size:
            raise InputError(
                path,
                f"class column is {classes[bad[0]]:g}; tracker rows must carry -1 or 1 there",
                int(table.lines[bad[0]]),
            )


def evaluate_folders(
    gt_folder: str | Path,
    seqmap: str | Path,
    tracks: str | Path,
    out: str | Path,
    benchmark: str = "MOT17",
    preproc: bool = True,
    cores: int = 1,
) -> Headline:
    """Evaluate ``tracks/<seq>.txt`` against ``gt_folder/<seq>/gt/gt.txt`` for the sequences of ``seqmap``.

    Writes ``pedestrian_summary.txt``, ``pedestrian_detailed.csv`` and ``hota.txt`` into ``out`` (atomically, as one
    folder) and returns the COMBINED headline metrics.
    """
    import trackeval  # imported here: it prints on import in some versions and is only needed for this stage

    gt_folder, seqmap, tracks, out = Path(gt_folder), Path(seqmap), Path(tracks), Path(out)
    sequences = read_seqmap(seqmap)
    if not sequences:
        raise InputError(seqmap, "seqmap lists no sequences")
    with tempfile.TemporaryDirectory(prefix="motforge-eval-") as work_name:
        work = Path(work_name)
        data = work / "trackers" / TRACKER_NAME / "data"
        data.mkdir(parents=True)
        for seq in sequences:
            info = read_seqinfo(gt_folder / seq / "seqinfo.ini")
            gt_file = gt_folder / seq / "gt" / "gt.txt"
            if not gt_file.is_file():
                raise InputError(gt_file, f"ground truth of sequence {seq!r} (named in {seqmap}) is missing")
            track_file = tracks / f"{seq}.txt"
            if not track_file.is_file():
                raise InputError(track_file, f"tracker result for sequence {seq!r} is missing")
            validate_tracker_file(track_file, info.seq_length)
            os.symlink(track_file.resolve(), data / f"{seq}.txt")
        eval_config = trackeval.Evaluator.get_default_eval_config()
        eval_config.update(
            USE_PARALLEL=cores > 1,
            NUM_PARALLEL_CORES=max(1, cores),
            BREAK_ON_ERROR=True,
            LOG_ON_ERROR=str(work / "error_log.txt"),
            PRINT_RESULTS=False,
            PRINT_CONFIG=False,
            TIME_PROGRESS=False,
            OUTPUT_SUMMARY=True,
            OUTPUT_DETAILED=True,
            PLOT_CURVES=False,
        )
        dataset_config = trackeval.datasets.MotChallenge2DBox.get_default_dataset_config()
        dataset_config.update(
            GT_FOLDER=str(gt_folder),
            TRACKERS_FOLDER=str(work / "trackers"),
            OUTPUT_FOLDER=str(work / "out"),
            TRACKERS_TO_EVAL=[TRACKER_NAME],
            TRACKER_SUB_FOLDER="data",
            SEQMAP_FILE=str(seqmap),
            SKIP_SPLIT_FOL=True,
            BENCHMARK=benchmark,
            SPLIT_TO_EVAL="all",
            DO_PREPROC=preproc,
            PRINT_CONFIG=False,
        )
        evaluator = trackeval.Evaluator(eval_config)
        dataset = trackeval.datasets.MotChallenge2DBox(dataset_config)
        quiet = {"PRINT_CONFIG": False}
        metrics = [trackeval.metrics.HOTA(quiet), trackeval.metrics.CLEAR(quiet), trackeval.metrics.Identity(quiet)]
        with contextlib.redirect_stdout(io.StringIO()) as captured:
            try:
                results, _ = evaluator.evaluate([dataset], metrics)
            except trackeval.utils.TrackEvalException as exc:
                raise MotforgeError(f"TrackEval failed: {exc}\n{captured.getvalue()[-2000:]}") from exc
        combined = results["MotChallenge2DBox"][TRACKER_NAME]["COMBINED_SEQ"]["pedestrian"]
        headline = Headline(
            HOTA=100.0 * float(np.mean(combined["HOTA"]["HOTA"])),
            DetA=100.0 * float(np.mean(combined["HOTA"]["DetA"])),
            AssA=100.0 * float(np.mean(combined["HOTA"]["AssA"])),
            IDF1=100.0 * float(combined["Identity"]["IDF1"]),
            MOTA=100.0 * float(combined["CLEAR"]["MOTA"]),
            IDSW=int(combined["CLEAR"]["IDSW"]),
        )
        with atomic_path(out, directory=True) as tmp_out:
            for name in KEPT_FILES:
                shutil.copyfile(work / "out" / TRACKER_NAME / name, tmp_out / name)
            (tmp_out / "hota.txt").write_text(headline.lines())
    return headline
