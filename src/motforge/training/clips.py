"""Training clips read from the caches: T frames at random intervals, their GT boxes and ids, depth bins,
instance-depth soft labels and detector pseudo-boxes, with augmentations applied consistently to all of them.

Item ``i`` is a pure function of (seed, i), so runs are reproducible and a resumed run continues with the clips an
uninterrupted run would have drawn. Stores are opened lazily inside each DataLoader worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from motforge.datasets.frame_cache import open_frame_cache
from motforge.datasets.index import read_index
from motforge.detect.store import read_detections
from motforge.masks.instance_depth import FROM_MASK, read_instance_depth
from motforge.training.colour import Recolour, Solarize


@dataclass(frozen=True)
class SequenceFiles:
    index: Path
    frames: Path
    depth_bins: Path | None = None
    instance_depth: Path | None = None
    detections: Path | None = None


@dataclass(frozen=True)
class ClipSettings:
    """A family's ``clip`` and ``augment`` blocks (defaults in its schema)."""

    length: int
    max_interval: int
    flip: float
    crop: float  # up to this fraction of width/height cut away before resizing back
    occlusion: float  # chance per (frame, identity) to be hidden from the temporal/association inputs
    id_swap: float  # chance per clip to swap two identities' tracklet boxes in the association inputs
    colour: float  # chance per clip of one random hue / saturation / brightness change of all its frames
    solarize: float  # chance per clip of solarizing all its frames at one random threshold
    label_stride: int = 8  # the detection head's stride (a property of the model, not a setting)


def sequence_files(index: Path, inputs: dict[str, Path]) -> SequenceFiles:
    """One training sequence from the cached inputs a family asked for by name (``families.CACHED_INPUTS``)."""
    names = ("depth_bins", "instance_depth", "detections")
    return SequenceFiles(index, inputs["frames"], **{name: inputs.get(name) for name in names})


def clip_settings(clip: dict, augment: dict, **fixed: float) -> ClipSettings:
    """ClipSettings from a family's ``clip`` and ``augment`` blocks; ``fixed`` sets what the family's block lacks."""
    values = {
        "flip": augment.get("flip"),
        "crop": augment.get("crop"),
        "occlusion": augment.get("occlusion"),
        "id_swap": augment.get("id_swap"),
        "colour": augment.get("colour"),
        "solarize": augment.get("solarize"),
        **fixed,
    }
    return ClipSettings(
        length=int(clip["length"]), max_interval=int(clip["max_interval"]), **{k: float(v) for k, v in values.items()}
    )


class _Sequence:
    """Everything of one sequence the loader needs, in memory except the frames (read per clip)."""

    def __init__(self, files: SequenceFiles) -> None:
        index = read_index(files.index)
        self.length = index.seq_length
        self.frames = open_frame_cache(files.frames)
        width, height = self.frames.attrs["size"]
        sx, sy = width / index.width, height / index.height
        gt = index.gt
        keep = (gt["consider"] != 0) & np.isin(gt["cls"], [1, -1])
        self.rows = np.flatnonzero(keep)
        x, y, w, h = (gt[k][self.rows].astype(np.float32) for k in ("x", "y", "w", "h"))
        self.boxes = np.stack([x * sx, y * sy, (x + w) * sx, (y + h) * sy], axis=1)
        self.ids = gt["id"][self.rows].astype(np.int64)
        self.frame_of = gt["frame"][self.rows].astype(np.int64)
        self.bins = None
        if files.depth_bins is not None:
            from motforge.depth.store import open_frame_store

            self.bins = open_frame_store(files.depth_bins)
        self.inst = None
        if files.instance_depth is not None:
            inst = read_instance_depth(files.instance_depth)
            valid = (
                (inst["source"][self.rows] == FROM_MASK)
                & np.isfinite(inst["fdta_value"][self.rows])
                & (inst["quality"][self.rows] > 0)
            )
            self.inst = (
                np.nan_to_num(inst["fdta_value"][self.rows] / 255.0).astype(np.float32),
                inst["hist"][self.rows].astype(np.float32),
                valid,
            )
        self.pseudo = None
        if files.detections is not None:
            dets = read_detections(files.detections)
            scale = np.array([sx, sy, sx, sy])
            self.pseudo = [(dets.frame(t)[0] * scale, dets.frame(t)[1]) for t in range(1, self.length + 1)]
        self.size = (int(width), int(height))


class ClipDataset(Dataset):
    def __init__(
        self, sequences: list[SequenceFiles], settings: ClipSettings, num_items: int, seed: int, start_item: int = 0
    ) -> None:
        self.files = sequences
        self.settings = settings
        self.num_items = num_items
        self.seed = seed
        self.start_item = start_item
        self._open: dict[int, _Sequence] = {}

    def __len__(self) -> int:
        return self.num_items - self.start_item

    def _sequence(self, i: int) -> _Sequence:
        if i not in self._open:
            self._open[i] = _Sequence(self.files[i])
        return self._open[i]

    def __getitem__(self, position: int) -> dict:
        item = position + self.start_item
        rng = np.random.default_rng([self.seed, item])
        s = self.settings
        seq = self._sequence(int(rng.integers(len(self.files))))
        interval = int(rng.integers(1, s.max_interval + 1))
        span = (s.length - 1) * interval
        start = int(rng.integers(0, max(1, seq.length - span)))
        frames = [min(seq.length - 1, start + k * interval) for k in range(s.length)]
        width, height = seq.size
        flip = rng.random() < s.flip
        cw, ch = (1 - rng.uniform(0, s.crop)) * width, (1 - rng.uniform(0, s.crop)) * height
        cx0, cy0 = rng.uniform(0, width - cw), rng.uniform(0, height - ch)
        sx, sy = width / cw, height / ch
        # drawn only when the switch is on, so a run without it keeps every other draw (and its results)
        recolour = Recolour.draw(rng) if s.colour > 0 and rng.random() < s.colour else None
        solarized = Solarize.draw(rng) if s.solarize > 0 and rng.random() < s.solarize else None
        images, boxes, ids, inst_value, inst_hist, inst_valid, bins, pseudo, pseudo_scores, hidden = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
        label_w, label_h = width // s.label_stride, height // s.label_stride
        for t in frames:
            image = seq.frames[t]
            crop = image[int(cy0) : int(cy0 + ch), int(cx0) : int(cx0 + cw)]
            if crop.shape[:2] != (height, width):
                image = cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)
            rows = np.flatnonzero(seq.frame_of == t + 1)
            b = seq.boxes[rows].copy()
            b[:, [0, 2]] = (b[:, [0, 2]] - cx0) * sx
            b[:, [1, 3]] = (b[:, [1, 3]] - cy0) * sy
            if recolour is not None:
                image = recolour(image)
            if solarized is not None:
                image = solarized(image)
            if flip:
                image = image[:, ::-1]
                b[:, [0, 2]] = width - b[:, [2, 0]]
            visible = (np.minimum(b[:, 2], width) - np.maximum(b[:, 0], 0) > 2) & (
                np.minimum(b[:, 3], height) - np.maximum(b[:, 1], 0) > 2
            )
            rows, b = rows[visible], b[visible]
            images.append(np.ascontiguousarray(image.transpose(2, 0, 1)))
            boxes.append(b.astype(np.float32))
            ids.append(seq.ids[rows])
            hidden.append(rng.random(len(rows)) < s.occlusion)
            if seq.inst is not None:
                inst_value.append(seq.inst[0][rows])
                inst_hist.append(seq.inst[1][rows])
                inst_valid.append(seq.inst[2][rows])
            if seq.bins is not None:
                full = seq.bins[t]
                bh, bw = full.shape
                crop_bins = full[
                    int(cy0 / height * bh) : int((cy0 + ch) / height * bh) + 1,
                    int(cx0 / width * bw) : int((cx0 + cw) / width * bw) + 1,
                ]
                resized = cv2.resize(crop_bins, (label_w, label_h), interpolation=cv2.INTER_NEAREST)
                bins.append(resized[:, ::-1] if flip else resized)
            if seq.pseudo is not None:
                pb, ps = seq.pseudo[t]
                pb = pb.copy()
                pb[:, [0, 2]] = (pb[:, [0, 2]] - cx0) * sx
                pb[:, [1, 3]] = (pb[:, [1, 3]] - cy0) * sy
                if flip:
                    pb[:, [0, 2]] = width - pb[:, [2, 0]]
                pseudo.append(pb.astype(np.float32))
                pseudo_scores.append(ps.astype(np.float32))
        swap = None
        if s.id_swap > 0 and rng.random() < s.id_swap:
            common = sorted(set(ids[0].tolist()))
            if len(common) >= 2:
                swap = tuple(int(v) for v in rng.choice(common, 2, replace=False))
        clip = {
            "images": torch.from_numpy(np.stack(images)),
            "boxes": [torch.from_numpy(b) for b in boxes],
            "ids": [torch.from_numpy(i) for i in ids],
            "hidden": [torch.from_numpy(h) for h in hidden],
            "swap": swap,
        }
        if inst_value:
            clip["inst_value"] = [torch.from_numpy(v) for v in inst_value]
            clip["inst_hist"] = [torch.from_numpy(v) for v in inst_hist]
            clip["inst_valid"] = [torch.from_numpy(v) for v in inst_valid]
        if bins:
            clip["depth_bins"] = torch.from_numpy(np.stack(bins).astype(np.int64))
        if pseudo:
            clip["pseudo_boxes"] = [torch.from_numpy(p) for p in pseudo]
            clip["pseudo_scores"] = [torch.from_numpy(p) for p in pseudo_scores]
        return clip


def collate(clips: list[dict]) -> list[dict]:
    return clips
