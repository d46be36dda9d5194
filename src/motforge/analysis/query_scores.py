"""Are a query model's scores telling objects apart? Score distributions of a ``query`` checkpoint on GT sequences.

The online lifecycle (``families.query.inference``) births, keeps and reports by score thresholds, so a tracker
works only where the scores separate what it should act on from what it should not. This module runs the tracker
over a sequence and sorts every query of every frame by what its last-layer box is:

- a detect query (learned anchor or MOTRv2 proposal) whose box matches an object (IoU > ``iou``) that no track query
  covers this frame: ``new`` (should score above ``birth``);
- the same on an object a track query covers: ``duplicate`` (should score below ``birth``);
- a detect query on no object: ``false`` (should score low);
- a track query on an object: ``on_object`` (should stay above ``death``), or on none: ``drifted`` (should fall
  below ``death`` so the track ends).

A model whose categories share one score range has not learned the classification the lifecycle needs, whatever
the thresholds. ``summarise`` gives quantiles and the shares above the model's thresholds; ``plot`` draws them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torchvision.ops import box_iou
from tqdm import tqdm

from motforge.datasets.index import SequenceIndex
from motforge.tracking.interface import FrameInputs

CATEGORIES = (
    "learned_new",
    "learned_duplicate",
    "learned_false",
    "proposal_new",
    "proposal_duplicate",
    "proposal_false",
    "track_on_object",
    "track_drifted",
)


def classify_queries(
    scores: torch.Tensor,
    boxes: torch.Tensor,
    n_detect: int,
    n_learned: int,
    gt_boxes: torch.Tensor,
    iou: float = 0.5,
) -> dict[str, list[float]]:
    """One frame: scores [Q], boxes [Q, 4] xyxy (detect queries first: ``n_learned`` learned, then proposals; track
    queries from ``n_detect`` on), gt_boxes [G, 4] xyxy in the same units -> score lists per category."""
    out: dict[str, list[float]] = {name: [] for name in CATEGORIES}
    if gt_boxes.shape[0] == 0:
        best = torch.zeros(scores.shape[0])
        which = torch.full((scores.shape[0],), -1, dtype=torch.long)
    else:
        best, which = box_iou(boxes.float(), gt_boxes.float()).max(1)
    on = best > iou
    covered = set(which[n_detect:][on[n_detect:]].tolist())
    for q in range(scores.shape[0]):
        score = float(scores[q])
        if q >= n_detect:
            out["track_on_object" if on[q] else "track_drifted"].append(score)
            continue
        kind = "learned" if q < n_learned else "proposal"
        if not on[q]:
            out[f"{kind}_false"].append(score)
        else:
            out[f"{kind}_duplicate" if int(which[q]) in covered else f"{kind}_new"].append(score)
    return out


def sequence_scores(
    tracker,  # noqa: ANN001  (families.query.tracker.QueryFamilyTracker)
    index: SequenceIndex,
    frames,  # noqa: ANN001  (a frame cache: zarr [T, H, W, 3], attrs ``size``)
    detections=None,  # noqa: ANN001  (detect.store.Detections, for the proposals switch)
    iou: float = 0.5,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Run the tracker over the sequence as ``track`` does and classify each frame's queries against its GT."""
    if not index.has_gt:
        raise ValueError(f"{index.name}: query-scores needs a sequence with ground truth")
    width, height = frames.attrs["size"]
    sx, sy = index.width / width, index.height / height
    scale = np.array([sx, sy, sx, sy])
    to_pixels = torch.tensor([index.width, index.height, index.width, index.height], dtype=torch.float32)
    gt = index.gt_rows()
    gt = gt[gt[:, 6] > 0]  # considered boxes, as the evaluation counts them
    n_learned = tracker.online.model.cfg.num_queries
    samples: dict[str, list[float]] = {name: [] for name in CATEGORIES}
    tracker.reset(index)
    for t in tqdm(range(1, index.seq_length + 1), desc=f"query-scores {index.name}", disable=not progress):
        given = detections.frame(t)[:2] if detections is not None else None
        tracker.step(FrameInputs(t, index, given, frames[t - 1], scale))
        last = tracker.online.last_frame
        rows = gt[gt[:, 0] == t]
        gt_xyxy = torch.as_tensor(
            np.stack([rows[:, 2], rows[:, 3], rows[:, 2] + rows[:, 4], rows[:, 3] + rows[:, 5]], 1),
            dtype=torch.float32,
        ).reshape(-1, 4)
        frame = classify_queries(last.scores, last.boxes * to_pixels, last.n_detect, n_learned, gt_xyxy, iou)
        for name, values in frame.items():
            samples[name].extend(values)
    return samples


def summarise(samples: dict[str, list[float]], birth: float, death: float) -> dict[str, dict[str, float]]:
    """Per category: count, 10/50/90% quantiles, and the shares at or above the birth and death scores."""
    summary = {}
    for name in CATEGORIES:
        v = np.asarray(samples.get(name, []), dtype=np.float64)
        if not len(v):
            summary[name] = {"count": 0}
            continue
        q10, q50, q90 = np.quantile(v, [0.1, 0.5, 0.9])
        summary[name] = {
            "count": int(len(v)),
            "q10": float(q10),
            "median": float(q50),
            "q90": float(q90),
            "at_birth": float((v >= birth).mean()),
            "at_death": float((v >= death).mean()),
        }
    return summary


def plot(samples: dict[str, list[float]], birth: float, death: float, title: str, out: Path) -> None:
    """Histograms of the categories (detect queries above, track queries below) with the two thresholds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from motforge.io.atomic import save_figure_atomic

    fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    bins = np.linspace(0.0, 1.0, 51)
    for ax, names in ((axes[0], CATEGORIES[:6]), (axes[1], CATEGORIES[6:])):
        for name in names:
            if samples.get(name):
                ax.hist(samples[name], bins=bins, histtype="step", density=True, label=f"{name} ({len(samples[name])})")
        ax.axvline(birth, color="k", linestyle="--", linewidth=1)
        ax.axvline(death, color="grey", linestyle=":", linewidth=1)
        ax.legend(fontsize=7)
        ax.set_ylabel("density")
    axes[0].set_title(f"{title}: detect queries (dashed: birth {birth})")
    axes[1].set_title(f"track queries (dotted: death {death})")
    axes[1].set_xlabel("score")
    fig.tight_layout()
    save_figure_atomic(fig, out)
    plt.close(fig)
