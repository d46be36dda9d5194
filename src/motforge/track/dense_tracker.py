"""The online tracker of the `dense` model.

Detections come from the model's head (or, switchable, MOTRv2-style from detections.h5). Association follows
ByteTrack's two stages: high-score detections are matched to all tracks on a fused similarity of QDTrack's
bi-softmax over embeddings (low-score detections kept as backdrops in the softmax), IoU with the Kalman prediction,
LA-MOTR's learned association score and DepTR-MOT's depth term (minus gamma x |depth difference|); leftover tracks
then take low-score detections by IoU. Track embeddings are refined by the Temporal Adapter over their history
(an exponential moving average when it is off). All state is per instance and per sequence.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torchvision.ops import box_iou, nms

from motforge.model.dense import DenseTracker
from motforge.track import kalman


@dataclass(frozen=True)
class DenseTrackParams:
    det_high: float = 0.5
    det_low: float = 0.1
    new_track: float = 0.6
    nms: float = 0.6
    match_threshold: float = 0.3
    iou_low: float = 0.5
    max_lost: int = 30
    gamma: float = 0.2
    w_embed: float = 1.0
    w_iou: float = 1.0
    w_assoc: float = 1.0
    proposals: str = "head"
    momentum: float = 0.8
    history: int = 8
    max_detections: int = 100


@dataclass
class DenseTrack:
    ident: int
    mean: np.ndarray
    cov: np.ndarray
    embedding: torch.Tensor  # moving average of raw embeddings: the space QDTrack's bi-softmax was trained in
    refined: torch.Tensor  # Temporal-Adapter output over the history: the tracklet input of the association head
    history: list = field(default_factory=list)
    depth: float = float("nan")
    last_frame: int = 0
    score: float = 0.0


def bisoftmax(det: torch.Tensor, tracks: torch.Tensor, backdrops: torch.Tensor) -> torch.Tensor:
    """QDTrack's bi-softmax similarity [Nd, Nt]; backdrop embeddings join the softmax over detections."""
    if det.shape[0] == 0 or tracks.shape[0] == 0:
        return det.new_zeros(det.shape[0], tracks.shape[0])
    sim = det @ tracks.t()
    over_tracks = sim.softmax(dim=1)
    all_dets = torch.cat([sim, backdrops @ tracks.t()], dim=0) if backdrops.shape[0] else sim
    over_dets = all_dets.softmax(dim=0)[: det.shape[0]]
    return (over_tracks + over_dets) / 2


class DenseOnlineTracker:
    def __init__(self, model: DenseTracker, params: DenseTrackParams) -> None:
        self.model = model.eval()
        self.p = params
        self.tracks: list[DenseTrack] = []
        self.next_id = 1
        self.frame = 0

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
        if self.model.instance_depth is not None:
            return self.model.instance_depth(roi_feats)[0]
        expected = self.model.expected_depth_at(out, [boxes])
        return expected / 255.0 if expected is not None else None

    @torch.no_grad()
    def step(self, image: torch.Tensor, proposals=None) -> list[tuple[int, np.ndarray, float]]:
        """One frame (image [3, H, W] uint8 RGB at the model's input size); returns (id, xyxy, score) of tracks
        updated in this frame, in input pixels."""
        p = self.p
        self.frame += 1
        out = self.model.frames(image[None])
        boxes, scores = self._detect(out, proposals)
        embeddings, roi_feats = self.model.roi_embeddings(out, [boxes]) if len(boxes) else (torch.zeros(0, self.model.cfg.embed_dim), None)
        depths = self._depths(out, roi_feats, boxes) if len(boxes) else None
        if self.tracks:
            means, covs = kalman.predict(np.stack([t.mean for t in self.tracks]), np.stack([t.cov for t in self.tracks]))
            for t, m, c in zip(self.tracks, means, covs):
                t.mean, t.cov = m, c
        high = scores >= p.det_high
        hi_idx = torch.nonzero(high).flatten()
        lo_idx = torch.nonzero(~high).flatten()
        updated: list[DenseTrack] = []
        free_tracks = list(range(len(self.tracks)))
        unmatched_high = hi_idx.tolist()
        if self.tracks and len(hi_idx):
            track_emb = torch.stack([t.embedding for t in self.tracks])
            track_refined = torch.stack([t.refined for t in self.tracks])
            track_boxes = torch.as_tensor(np.stack([kalman.xyah_to_xyxy(t.mean[None, :4])[0] for t in self.tracks]), dtype=torch.float32)
            sim_terms, weights = [], []
            sim_terms.append(p.w_embed * bisoftmax(embeddings[hi_idx], track_emb, embeddings[lo_idx]))
            weights.append(p.w_embed)
            sim_terms.append(p.w_iou * box_iou(boxes[hi_idx], track_boxes))
            weights.append(p.w_iou)
            if self.model.association is not None and p.w_assoc > 0:
                sim_terms.append(p.w_assoc * self.model.association(embeddings[hi_idx], boxes[hi_idx], track_refined, track_boxes).sigmoid())
                weights.append(p.w_assoc)
            similarity = sum(sim_terms) / max(1e-9, sum(weights))
            if depths is not None and p.gamma > 0:
                track_depth = torch.tensor([t.depth for t in self.tracks])
                diff = (depths[hi_idx][:, None] - track_depth[None]).abs()
                similarity = similarity - p.gamma * torch.nan_to_num(diff, nan=0.0)
            sim = similarity.numpy()
            rows, cols = linear_sum_assignment(-sim)
            matched_tracks = set()
            matched_dets = set()
            for r, c in zip(rows, cols):
                if sim[r, c] >= p.match_threshold:
                    self._update(self.tracks[c], int(hi_idx[r]), boxes, scores, embeddings, depths)
                    updated.append(self.tracks[c])
                    matched_tracks.add(c)
                    matched_dets.add(int(hi_idx[r]))
            free_tracks = [c for c in range(len(self.tracks)) if c not in matched_tracks]
            unmatched_high = [d for d in hi_idx.tolist() if d not in matched_dets]
        # second stage: recently seen tracks take low-score detections by IoU
        recent = [c for c in free_tracks if self.tracks[c].last_frame == self.frame - 1]
        if recent and len(lo_idx):
            track_boxes = torch.as_tensor(np.stack([kalman.xyah_to_xyxy(self.tracks[c].mean[None, :4])[0] for c in recent]), dtype=torch.float32)
            iou = box_iou(boxes[lo_idx], track_boxes).numpy()
            rows, cols = linear_sum_assignment(-iou)
            for r, c in zip(rows, cols):
                if iou[r, c] >= p.iou_low:
                    self._update(self.tracks[recent[c]], int(lo_idx[r]), boxes, scores, embeddings, depths)
                    updated.append(self.tracks[recent[c]])
        for d in unmatched_high:
            if float(scores[d]) >= p.new_track:
                mean, cov = kalman.initiate(kalman.xyxy_to_xyah(boxes[d].numpy())[0])
                track = DenseTrack(self.next_id, mean, cov, embeddings[d].clone(), embeddings[d].clone(), [embeddings[d].clone()],
                                   float(depths[d]) if depths is not None else float("nan"), self.frame, float(scores[d]))
                self.next_id += 1
                self.tracks.append(track)
                updated.append(track)
        self.tracks = [t for t in self.tracks if self.frame - t.last_frame <= p.max_lost]
        return sorted(((t.ident, kalman.xyah_to_xyxy(t.mean[None, :4])[0], t.score) for t in updated), key=lambda r: r[0])

    def _update(self, track: DenseTrack, d: int, boxes, scores, embeddings, depths) -> None:
        track.mean, track.cov = kalman.update(track.mean, track.cov, kalman.xyxy_to_xyah(boxes[d].numpy())[0])
        track.history = (track.history + [embeddings[d].clone()])[-self.p.history :]
        track.embedding = self.p.momentum * track.embedding + (1 - self.p.momentum) * embeddings[d]
        if self.model.temporal is not None:
            history = torch.stack(track.history)[None]
            present = torch.ones(1, history.shape[1], dtype=torch.bool)
            track.refined = self.model.temporal(history, present)[0, -1]
        else:
            track.refined = track.embedding
        if depths is not None:
            track.depth = float(depths[d])
        track.last_frame = self.frame
        track.score = float(scores[d])
