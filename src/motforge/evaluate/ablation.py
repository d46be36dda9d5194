"""The ablation table: headline metrics of every run, grouped by variant, as mean and standard deviation over
seeds (run-to-run HOTA varies by about a point on DanceTrack, so single runs prove little), the mean difference
to the first variant paired seed by seed with its 95% t interval, the sign the variant's paper reports and
whether the measured HOTA difference agrees with it, plus a bar plot."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from scipy import stats

from motforge.evaluate.headline import Headline
from motforge.io.atomic import atomic_path, save_figure_atomic

METRICS = ("HOTA", "AssA", "DetA", "IDF1", "MOTA")
DELTA_METRICS = ("HOTA", "AssA", "IDF1")


def paired_delta(values: list[float], reference: list[float]) -> float:
    """Mean difference to the first variant, seed by seed where both ran the same seeds (runs are listed in seed
    order), which removes the seed's share of the noise; otherwise the difference of the means."""
    if len(values) == len(reference):
        return float(np.mean(np.subtract(values, reference)))
    return float(np.mean(values) - np.mean(reference))


def paired_interval(values: list[float], reference: list[float], level: float = 0.95) -> float | None:
    """Half-width of the t interval of the mean paired difference (None without at least two paired runs): the
    differences d_i of one seed each, mean +- t_(n-1) sd(d) / sqrt(n)."""
    if len(values) != len(reference) or len(values) < 2:
        return None
    d = np.subtract(values, reference)
    return float(stats.t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))


def agreement(delta: float, paper_sign: int | None) -> str:
    """'yes' when the measured difference has the paper's sign, 'no' when not, '' when the paper states none."""
    if not paper_sign:
        return ""
    return "yes" if np.sign(delta) == np.sign(paper_sign) else "no"


def write_ablation(
    eval_dirs: list[Path], names: list[str], out: str | Path, paper: dict[str, dict] | None = None
) -> str:
    """``paper``: variant -> {sign: -1 or +1 (the HOTA change the paper reports for it), source: where}."""
    if len(eval_dirs) != len(names):
        raise ValueError("one name per evaluation folder")
    paper = paper or {}
    runs: dict[str, list[Headline]] = {}
    for folder, name in zip(eval_dirs, names):
        runs.setdefault(name, []).append(Headline.read(Path(folder) / "hota.txt"))
    rows = []
    first = next(iter(runs.values()))
    for name, headlines in runs.items():
        row = {"variant": name, "runs": len(headlines)}
        for metric in METRICS:
            values = np.array([getattr(h, metric) for h in headlines])
            row[f"{metric}_mean"] = round(float(values.mean()), 3)
            row[f"{metric}_std"] = round(float(values.std(ddof=1)) if len(values) > 1 else 0.0, 3)
        for metric in DELTA_METRICS:
            values, reference = [getattr(h, metric) for h in headlines], [getattr(h, metric) for h in first]
            row[f"{metric}_delta"] = round(paired_delta(values, reference), 3)
            half = paired_interval(values, reference) if headlines is not first else None
            row[f"{metric}_ci95"] = "" if half is None else round(half, 3)
        claim = paper.get(name, {})
        row["paper_sign"] = {-1: "-", 1: "+"}.get(claim.get("sign"), "")
        row["paper_source"] = claim.get("source", "")
        row["agrees"] = agreement(row["HOTA_delta"], claim.get("sign"))
        rows.append(row)
    out = Path(out)
    with atomic_path(out) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    _plot(out.with_suffix(".png"), rows)
    lines = [
        f"{'variant':28s} "
        + " ".join(f"{m:>14s}" for m in METRICS)
        + " "
        + " ".join(f"{'d' + m + ' (95%)':>17s}" for m in DELTA_METRICS)
        + "  paper agrees"
    ]
    for r in rows:
        lines.append(
            f"{r['variant']:28s} "
            + " ".join(f"{r[m + '_mean']:7.2f}+-{r[m + '_std']:5.2f}" for m in METRICS)
            + " "
            + " ".join(
                f"{r[m + '_delta']:+7.2f}" + (f" +-{r[m + '_ci95']:6.2f}" if r[m + "_ci95"] != "" else " " * 9)
                for m in DELTA_METRICS
            )
            + f"  {r['paper_sign']:>5s} {r['agrees']}"
        )
    return "\n".join(lines)


def _plot(path: Path, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 0.45 * len(rows) + 1.5), sharey=True)
    labels = [r["variant"] for r in rows]
    y = np.arange(len(rows))
    for ax, metric in zip(axes, ("HOTA", "AssA", "IDF1")):
        ax.barh(y, [r[f"{metric}_mean"] for r in rows], xerr=[r[f"{metric}_std"] for r in rows], color="#4c72b0")
        ax.set_title(metric)
        ax.axvline(rows[0][f"{metric}_mean"], color="k", linewidth=0.8, linestyle="--")
    axes[0].set_yticks(y, labels)
    axes[0].invert_yaxis()
    fig.suptitle("ablation (mean and std over seeds; dashed: first row)")
    fig.tight_layout()
    save_figure_atomic(fig, path)
    plt.close(fig)
