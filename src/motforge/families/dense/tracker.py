"""The online tracker of the `dense` model.

Detections come from the model's head (or, switchable, MOTRv2-style from detections.h5). ``track.association``
picks the matching: ``qdtrack`` is QDTrack's own (greedy bi-softmax matching against tracks and the previous
frame's backdrops, qdtrack_matching.py), optionally minus DepTR-MOT's depth term; ``fusion`` follows
ByteTrack's two stages: high-score detections are matched to all tracks on a fused similarity of QDTrack's
bi-softmax over embeddings (low-score detections kept as backdrops in the softmax), IoU with the Kalman prediction,
LA-MOTR's learned association score and DepTR-MOT's depth term (minus gamma x |depth difference|); leftover tracks
then take low-score detections by IoU. Track embeddings are refined by the Temporal Adapter over their history
(an exponential moving average when it is off). All state is per instance and per sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import torch
from torchvision.ops import box_iou, nms

from motforge.datasets.index import SequenceIndex
from motforge.depth.lid import FDTA_SCALE
from motforge.families.dense.id_decoder import object_max
from motforge.families.dense.model import DenseTracker
from motforge.families.dense.qdtrack_matching import (
    UNMATCHED,
    QDTrackThresholds,
    greedy_match,
    new_backdrops,
    remove_duplicates,
)
from motforge.tracking import kalman
from motforge.tracking.association import two_stage_association
from motforge.tracking.interface import FrameInputs, TrackRow


@dataclass(frozen=True)
class DenseTrackParams:
    """The model's ``track`` block of config.yaml (defaults in families/dense/schema.yaml)."""

    det_high: float
    det_low: float
    new_track: float
    nms: float
    match_threshold: float
    iou_low: float
    max_lost: int
    gamma: float
    w_embed: float
    w_iou: float
    w_assoc: float
    proposals: str
    momentum: float
    history: int
    max_detections: int
    association: str
    qdtrack: QDTrackThresholds
    depth_source: str
    id_prediction: dict  # det_score, newborn_score, id_score (MOTIP)

    @classmethod
    def from_model(cls, track: dict) -> DenseTrackParams:
        values = {f.name: track[f.name] for f in fields(cls)}
        values["qdtrack"] = QDTrackThresholds(**track["qdtrack"])
        return cls(**values)


@dataclass
class DenseTrack:
    ident: int
    mean: np.ndarray
    cov: np.ndarray
    embedding: torch.Tensor  # moving average of raw embeddings: the space QDTrack's bi-softmax was trained in
    refined: torch.Tensor  # Temporal-Adapter output over the history: the tracklet input of the association head
    history: list = field(default_factory=list)  # (frame number, raw embedding) of the frames the track was matched
    depth: float = float("nan")
    last_frame: int = 0
    score: float = 0.0
    box: np.ndarray | None = None  # the last matched detection (what the qdtrack and id_decoder modes report)
    label: int = -1  # its ID token (id_decoder mode)
    id_history: list = field(default_factory=list)  # (frame, refined embedding): its history tokens


def bisoftmax(det: torch.Tensor, tracks: torch.Tensor, backdrops: torch.Tensor) -> torch.Tensor:
    """QDTrack's bi-softmax similarity [Nd, Nt]; backdrop embeddings join the softmax over detections."""
    if det.shape[0] == 0 or tracks.shape[0] == 0:
        return det.new_zeros(det.shape[0], tracks.shape[0])
    sim = det @ tracks.t()
    over_tracks = sim.softmax(dim=1)
    all_dets = torch.cat([sim, backdrops @ tracks.t()], dim=0) if backdrops.shape[0] else sim
    over_dets = all_dets.softmax(dim=0)[: det.shape[0]]
    return (over_tracks + over_dets) / 2


def history_window(
    history: list[tuple[int, torch.Tensor]], frame: int, length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A track's last ``length`` frames up to ``frame`` as the Temporal Adapter's input: [T, D] embeddings (zeros
    where the track was not matched) and [T] present flags. T runs from the oldest kept match to ``frame``, so a
    missed frame is a masked slot (FDTA eq. 3's missing mask), not dropped."""
    kept = [(f, e) for f, e in history if frame - length < f <= frame]
    if not kept:
        raise ValueError(f"no history within the last {length} frames of frame {frame}")
    first = kept[0][0]
    steps = frame - first + 1
    window = kept[0][1].new_zeros(steps, kept[0][1].shape[0])
    present = torch.zeros(steps, dtype=torch.bool)
    for f, e in kept:
        window[f - first] = e
        present[f - first] = True
    return window, present


class DenseOnlineTracker:
    """The ``dense`` family's online tracker (the :class:`~motforge.families.OnlineTracker` interface)."""

    def __init__(self, model: DenseTracker, params: DenseTrackParams) -> None:
        self.model = model.eval()
        self.p = params
        self.reset()

    def reset(self, index: SequenceIndex | None = None) -> None:
        self.tracks: list[DenseTrack] = []
        self.next_id = 1
        self.frame = 0
        self.input_size = (0, 0)  # (width, height) of the frames stepped; SGLA's cues are over it
        self.backdrops = torch.zeros(0, self.model.cfg.embed_dim)  # the previous frame's (qdtrack mode)
        decoder = self.model.id_decoder
        self.labels = list(range(decoder.num_ids)) if decoder is not None else []  # least recently used first

    def step(self, frame: FrameInputs) -> list[TrackRow]:
        """One frame from the frame cache (the model's input size); rows in original pixels. Detections, when
        the family asked for them (``track.proposals: detections``), replace the head's boxes (MOTRv2-style)."""
        if frame.image is None or frame.scale is None:
            raise ValueError("the dense family tracks frames from the frame cache; none were given")
        image = torch.from_numpy(np.ascontiguousarray(frame.image.transpose(2, 0, 1)))
        given = None
        if frame.detections is not None and self.p.proposals == "detections":
            boxes, scores = frame.detections
            given = (boxes / frame.scale, scores)
        return [(ident, box * frame.scale, score) for ident, box, score in self.step_image(image, given)]

    def _detect(self, out, proposals) -> tuple[torch.Tensor, torch.Tensor]:
        if proposals is not None:
            boxes, scores = proposals
            return torch.as_tensor(boxes, dtype=torch.float32), torch.as_tensor(scores, dtype=torch.float32)
        scores = out.logits[0].sigmoid().flatten()
        boxes = out.boxes[0].reshape(-1, 4)
        keep = scores >= self.p.det_low
        boxes, scores = boxes[keep], scores[keep]
        keep = nms(boxes, scores, self.p.nms)[: self.p.max_detections]
        return boxes[keep], scores[keep]

    def _depths(self, out, roi_feats, boxes) -> torch.Tensor | None:
        """Each detection's depth on the labels' 0..1 scale: the instance-depth head's, or the Spatial Adapter's
        expected depth map averaged in the box (``track.depth_source``, and the fallback without the head)."""
        if self.model.instance_depth is not None and self.p.depth_source == "instance_head":
            return self.model.instance_depths(out, [boxes], roi_feats)[0]
        expected = self.model.expected_depth_at(out, [boxes])
        return expected / FDTA_SCALE if expected is not None else None

    @torch.no_grad()
    def step_image(self, image: torch.Tensor, proposals=None) -> list[tuple[int, np.ndarray, float]]:
        """One frame (image [3, H, W] uint8 RGB at the model's input size); returns (id, xyxy, score) of tracks
        updated in this frame, in input pixels."""
        p = self.p
        self.frame += 1
        self.input_size = (int(image.shape[-1]), int(image.shape[-2]))
        out = self.model.frames(image[None])
        boxes, scores = self._detect(out, proposals)
        embeddings, roi_feats = (
            self.model.roi_embeddings(out, [boxes]) if len(boxes) else (torch.zeros(0, self.model.cfg.embed_dim), None)
        )
        depths = self._depths(out, roi_feats, boxes) if len(boxes) else None
        if p.association == "qdtrack":
            return self._qdtrack_step(boxes, scores, embeddings, depths)
        if p.association == "id_decoder":
            return self._id_step(boxes, scores, embeddings, depths)
        kalman.predict_tracks(self.tracks)
        high = scores >= p.det_high
        hi_idx = torch.nonzero(high).flatten()
        lo_idx = torch.nonzero(~high).flatten()
        track_boxes = torch.as_tensor(  # the Kalman predictions, used by both stages
            np.array([kalman.xyah_to_xyxy(t.mean[None, :4])[0] for t in self.tracks]).reshape(-1, 4),
            dtype=torch.float32,
        )
        similarity = np.zeros((len(self.tracks), len(hi_idx)), dtype=np.float32)
        if self.tracks and len(hi_idx):
            similarity = self._similarity(boxes, embeddings, depths, hi_idx, lo_idx, track_boxes).numpy().T
        low_iou = box_iou(track_boxes, boxes[lo_idx]).numpy()
        recent = np.array([t.last_frame == self.frame - 1 for t in self.tracks], dtype=bool)
        matches = two_stage_association(similarity, p.match_threshold, low_iou, p.iou_low, recent)
        updated: list[DenseTrack] = []
        for c, r in matches.high:
            self._update(self.tracks[c], int(hi_idx[r]), boxes, scores, embeddings, depths)
            updated.append(self.tracks[c])
        for c, r in matches.low:
            self._update(self.tracks[c], int(lo_idx[r]), boxes, scores, embeddings, depths)
            updated.append(self.tracks[c])
        unmatched_high = [int(hi_idx[r]) for r in matches.unmatched_high]
        for d in unmatched_high:
            if float(scores[d]) >= p.new_track:
                updated.append(self._start(d, boxes, scores, embeddings, depths))
        self.tracks = [t for t in self.tracks if self.frame - t.last_frame <= p.max_lost]
        return sorted(
            ((t.ident, kalman.xyah_to_xyxy(t.mean[None, :4])[0], t.score) for t in updated), key=lambda r: r[0]
        )

    def _qdtrack_step(self, boxes, scores, embeddings, depths) -> list[tuple[int, np.ndarray, float]]:
        """QDTrack's matching (qdtrack_matching.py) with DepTR-MOT's depth term on the track columns."""
        t = self.p.qdtrack
        order = remove_duplicates(boxes, scores, t)
        boxes, scores, embeddings = boxes[order], scores[order], embeddings[order]
        depths = depths[order] if depths is not None else None
        ids = torch.full((len(boxes),), UNMATCHED, dtype=torch.long)
        if self.tracks and len(boxes):
            memo = torch.cat([torch.stack([tr.embedding for tr in self.tracks]), self.backdrops])
            similarity = bisoftmax(embeddings, memo, memo[:0])
            if depths is not None and self.p.gamma > 0:
                track_depth = torch.tensor([tr.depth for tr in self.tracks])
                diff = torch.nan_to_num((depths[:, None] - track_depth[None]).abs(), nan=0.0)
                similarity[:, : len(self.tracks)] -= self.p.gamma * diff
            memo_ids = torch.tensor([tr.ident for tr in self.tracks] + [UNMATCHED] * len(self.backdrops))
            ids = greedy_match(similarity, memo_ids, scores, t)
        by_id = {tr.ident: tr for tr in self.tracks}
        updated: list[DenseTrack] = []
        for d, ident in enumerate(ids.tolist()):
            if ident > UNMATCHED:
                self._update(by_id[ident], d, boxes, scores, embeddings, depths)
                updated.append(by_id[ident])
            elif ident == UNMATCHED and float(scores[d]) > t.init_score:
                track = self._start(d, boxes, scores, embeddings, depths)
                ids[d] = track.ident
                updated.append(track)
        self.backdrops = embeddings[new_backdrops(boxes, ids, t)]
        self.tracks = [tr for tr in self.tracks if self.frame - tr.last_frame <= self.p.max_lost]
        return sorted(((tr.ident, tr.box, tr.score) for tr in updated), key=lambda r: r[0])

    def _id_step(self, boxes, scores, embeddings, depths) -> list[tuple[int, np.ndarray, float]]:
        """MOTIP's online ID prediction (id_decoder.py): detections above det_score are current tokens, every live
        track's matched frames within rel_pe_length - 1 frames its history tokens; object-max assignment; newborns
        above newborn_score take the least recently used ID token (a track still holding it is ended, as MOTIP)."""
        t, decoder = self.p.id_prediction, self.model.id_decoder
        keep = torch.nonzero(scores > t["det_score"]).flatten()
        boxes, scores, embeddings = boxes[keep], scores[keep], embeddings[keep]
        depths = depths[keep] if depths is not None else None
        by_label = {tr.label: tr for tr in self.tracks}
        assigned: list[int | None] = [None] * len(boxes)
        tokens = [(f, e, tr.label) for tr in self.tracks for f, e in tr.id_history]
        if tokens and len(boxes):
            logits = decoder(
                embeddings,
                torch.full((len(boxes),), self.frame),
                torch.stack([e for _, e, _ in tokens]),
                torch.tensor([label for _, _, label in tokens]),
                torch.tensor([f for f, _, _ in tokens]),
            )
            assigned = object_max(logits.softmax(dim=1), set(by_label), t["id_score"])
        updated: list[DenseTrack] = []
        for d, label in enumerate(assigned):  # matches first: their labels become the most recently used
            if label is not None:
                self._update(by_label[label], d, boxes, scores, embeddings, depths)
                self.labels.remove(label)
                self.labels.append(label)
                updated.append(by_label[label])
        taken = {label for label in assigned if label is not None}
        for d, label in enumerate(assigned):
            if label is not None or float(scores[d]) <= t["newborn_score"]:
                continue
            label = self.labels[0]
            if label in taken:  # every ID token is held by a track seen in this frame: MOTIP drops the newborn
                continue
            taken.add(label)
            self.labels.append(self.labels.pop(0))
            self.tracks = [tr for tr in self.tracks if tr.label != label]  # the stale holder of the token ends
            track = self._start(d, boxes, scores, embeddings, depths)
            track.label = label
            updated.append(track)
        window = decoder.rel_pe_length - 1
        for tr in self.tracks:
            tr.id_history = [(f, e) for f, e in tr.id_history if self.frame + 1 - f <= window]
        self.tracks = [tr for tr in self.tracks if tr.id_history]
        return sorted(((tr.ident, tr.box, tr.score) for tr in updated), key=lambda r: r[0])

    def _start(self, d: int, boxes, scores, embeddings, depths) -> DenseTrack:
        mean, cov = kalman.initiate(kalman.xyxy_to_xyah(boxes[d].numpy())[0])
        history = [(self.frame, embeddings[d].clone())]
        refined = self._refine(history)
        track = DenseTrack(
            self.next_id,
            mean,
            cov,
            embeddings[d].clone(),
            refined,
            history,
            float(depths[d]) if depths is not None else float("nan"),
            self.frame,
            float(scores[d]),
            boxes[d].numpy().copy(),
            id_history=[(self.frame, refined)],
        )
        self.next_id += 1
        self.tracks.append(track)
        return track

    def _refine(self, history: list[tuple[int, torch.Tensor]]) -> torch.Tensor:
        """The Temporal Adapter's output for the current frame over the track's window, as in training, where every
        frame of a clip (its first included) is refined; the raw embedding when the adapter is off."""
        if self.model.temporal is None:
            return history[-1][1]
        window, present = history_window(history, self.frame, self.p.history)
        return self.model.temporal(window[None], present[None])[0, -1]

    def _similarity(self, boxes, embeddings, depths, hi_idx, lo_idx, track_boxes) -> torch.Tensor:
        """Stage-1 similarity [high dets, tracks]: weighted mean of bi-softmax, IoU and the learned association score,
        minus DepTR-MOT's gamma x |depth difference|."""
        p = self.p
        track_emb = torch.stack([t.embedding for t in self.tracks])
        track_refined = torch.stack([t.refined for t in self.tracks])
        sim_terms, weights = [], []
        sim_terms.append(p.w_embed * bisoftmax(embeddings[hi_idx], track_emb, embeddings[lo_idx]))
        weights.append(p.w_embed)
        sim_terms.append(p.w_iou * box_iou(boxes[hi_idx], track_boxes))
        weights.append(p.w_iou)
        if self.model.association is not None and p.w_assoc > 0:
            sim_terms.append(
                p.w_assoc
                * self.model.association(
                    embeddings[hi_idx], boxes[hi_idx], track_refined, track_boxes, self.input_size
                ).sigmoid()
            )
            weights.append(p.w_assoc)
        similarity = sum(sim_terms) / max(1e-9, sum(weights))
        if depths is not None and p.gamma > 0:
            track_depth = torch.tensor([t.depth for t in self.tracks])
            diff = (depths[hi_idx][:, None] - track_depth[None]).abs()
            similarity = similarity - p.gamma * torch.nan_to_num(diff, nan=0.0)
        return similarity

    def _update(self, track: DenseTrack, d: int, boxes, scores, embeddings, depths) -> None:
        track.mean, track.cov = kalman.update(track.mean, track.cov, kalman.xyxy_to_xyah(boxes[d].numpy())[0])
        track.history = [(f, e) for f, e in track.history if f > self.frame - self.p.history]
        track.history.append((self.frame, embeddings[d].clone()))
        track.embedding = (1 - self.p.momentum) * track.embedding + self.p.momentum * embeddings[d]
        track.box = boxes[d].numpy().copy()
        track.refined = self._refine(track.history) if self.model.temporal is not None else track.embedding
        if self.p.association == "id_decoder":  # history tokens: the adapter's output, else the raw embedding
            token = track.refined if self.model.temporal is not None else embeddings[d].clone()
            track.id_history.append((self.frame, token))
        if depths is not None:
            track.depth = float(depths[d])
        track.last_frame = self.frame
        track.score = float(scores[d])
