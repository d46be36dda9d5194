"""Draw one dancer as a labelled sprite: body parts projected through the camera, with per-pixel depth.

The dancer is a vertical billboard standing on the floor at (x, z); its parts are polygons, thick lines and circles
in metres on that plane, projected with the full camera model so size follows depth and the pitch adds keystone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from motforge.synthdance.camera import Camera

SHIFT = 4  # cv2 fixed-point sub-pixel bits: smooth motion of small sprites
SCALE = 1 << SHIFT

# part labels in the sprite canvas
LEGS, SKIRT, TORSO, ARMS, FACE, HAIR, SHOES, BELT = range(1, 9)
#: how much nearer than the billboard plane each part is (m): bodies have thickness
PART_BULGE = np.array([0.0, 0.05, 0.09, 0.11, 0.04, 0.08, 0.07, 0.02, 0.12], dtype=np.float32)


@dataclass(frozen=True)
class Sprite:
    """A rendered dancer: labels (0 = empty) in a canvas whose top-left corner sits at (left, top) in the image."""

    labels: np.ndarray
    depth: np.ndarray
    left: int
    top: int

    @property
    def box(self) -> tuple[float, float, float, float]:
        """Tight x, y, w, h of the whole (unoccluded, unclipped) body in image pixels."""
        rows = np.flatnonzero(self.labels.any(axis=1))
        cols = np.flatnonzero(self.labels.any(axis=0))
        if rows.size == 0:
            return (float(self.left), float(self.top), 0.0, 0.0)
        return (
            float(self.left + cols[0]),
            float(self.top + rows[0]),
            float(cols[-1] - cols[0] + 1),
            float(rows[-1] - rows[0] + 1),
        )


def draw_dancer(
    camera: Camera, x: float, z: float, yaw: float, height: float, build: float, arm_lift: float, stride: float
) -> Sprite | None:
    """Render the dancer's part labels and depth; None when it is behind the camera."""
    turn = 0.55 + 0.45 * abs(math.cos(yaw))  # a turning body looks narrower
    facing = math.cos(yaw) >= 0.0
    side_lean = math.sin(yaw) * 0.04
    h = height / 1.72
    w = build * turn

    def pt(lateral: float, up: float) -> tuple[float, float]:
        return (x + lateral, up * h)

    hip_y, knee_y, waist_y, shoulder_y, head_y = 0.93, 0.5, 1.02, 1.44, 1.6
    shoulder_x = 0.19 * w
    arm_angle = 0.25 + 2.0 * arm_lift  # radians from hanging down
    elbow_bend = 0.3 + 0.9 * arm_lift
    parts_lines: list[tuple[int, list[tuple[float, float]], float]] = []
    for side in (-1.0, 1.0):
        foot_x = side * 0.1 * w + side * stride * 0.12
        parts_lines.append(
            (
                LEGS,
                [pt(side * 0.08 * w, hip_y), pt(side * 0.09 * w + stride * side * 0.06, knee_y), pt(foot_x, 0.06)],
                0.12,
            )
        )
        parts_lines.append((SHOES, [pt(foot_x - 0.02, 0.04), pt(foot_x + 0.03 * side, 0.02)], 0.09))
        sx, sy = side * shoulder_x, shoulder_y
        ex = sx + side * 0.29 * math.sin(arm_angle) * turn
        ey = sy - 0.29 * math.cos(arm_angle)
        hx = ex + side * 0.27 * math.sin(arm_angle + elbow_bend) * turn
        hy = ey - 0.27 * math.cos(arm_angle + elbow_bend)
        parts_lines.append((ARMS, [pt(sx, sy), pt(ex, ey), pt(hx, hy)], 0.08))
    polygons = [
        (SKIRT, [pt(-0.15 * w, waist_y), pt(0.15 * w, waist_y), pt(0.27 * w, 0.7), pt(-0.27 * w, 0.7)]),
        (
            TORSO,
            [
                pt(-shoulder_x, shoulder_y + 0.02),
                pt(shoulder_x, shoulder_y + 0.02),
                pt(0.14 * w, waist_y),
                pt(-0.14 * w, waist_y),
            ],
        ),
        (
            BELT,
            [
                pt(-0.15 * w, waist_y + 0.035),
                pt(0.15 * w, waist_y + 0.035),
                pt(0.15 * w, waist_y - 0.03),
                pt(-0.15 * w, waist_y - 0.03),
            ],
        ),
    ]
    head_centre = pt(side_lean, head_y)
    head_radius = 0.11 * h
    # project everything; billboard plane is Z = z
    all_points = [p for _, pts, _ in parts_lines for p in pts] + [p for _, pts in polygons for p in pts]
    all_points += [(head_centre[0], head_centre[1] + head_radius * s) for s in (-1.0, 1.0)]
    xs = np.array([p[0] for p in all_points])
    ys = np.array([p[1] for p in all_points])
    u, v, depth = camera.project(xs, ys, np.full_like(xs, z))
    if np.any(depth <= 0.1):
        return None
    pixels_per_metre = camera.focal / float(np.median(depth))
    margin = int(math.ceil(0.25 * pixels_per_metre)) + 2
    left = int(math.floor(u.min())) - margin
    top = int(math.floor(v.min())) - margin
    canvas_w = int(math.ceil(u.max())) + margin - left + 1
    canvas_h = int(math.ceil(v.max())) + margin - top + 1
    labels = np.zeros((canvas_h, canvas_w), dtype=np.uint8)

    def local(points: list[tuple[float, float]]) -> np.ndarray:
        px, py, _ = camera.project(
            np.array([p[0] for p in points]), np.array([p[1] for p in points]), np.full(len(points), z)
        )
        return np.round(np.stack([(px - left) * SCALE, (py - top) * SCALE], axis=1)).astype(np.int32)

    for label, points in polygons[:2]:
        cv2.fillPoly(labels, [local(points)], int(label), lineType=cv2.LINE_8, shift=SHIFT)
    for label, points, thickness in parts_lines:
        if label == ARMS and facing:
            continue  # arms in front of the torso are drawn after it
        cv2.polylines(
            labels,
            [local(points)],
            False,
            int(label),
            thickness=max(1, int(round(thickness * pixels_per_metre))),
            lineType=cv2.LINE_8,
            shift=SHIFT,
        )
    cv2.fillPoly(labels, [local(polygons[2][1])], BELT, lineType=cv2.LINE_8, shift=SHIFT)
    centre = local([head_centre])[0]
    radius = int(round(head_radius * pixels_per_metre * SCALE))
    cv2.circle(
        labels, (int(centre[0]), int(centre[1])), radius, FACE if facing else HAIR, -1, lineType=cv2.LINE_8, shift=SHIFT
    )
    if facing:  # hair cap over the top of the face
        cv2.ellipse(
            labels,
            (int(centre[0]), int(centre[1] - radius * 0.25)),
            (radius, int(radius * 0.8)),
            0,
            180,
            360,
            HAIR,
            -1,
            lineType=cv2.LINE_8,
            shift=SHIFT,
        )
        for label, points, thickness in parts_lines:
            if label == ARMS:
                cv2.polylines(
                    labels,
                    [local(points)],
                    False,
                    int(label),
                    thickness=max(1, int(round(thickness * pixels_per_metre))),
                    lineType=cv2.LINE_8,
                    shift=SHIFT,
                )
    rows = top + np.arange(canvas_h, dtype=np.float64)
    row_depth = camera.ray_depth_to_plane_z(rows, z).astype(np.float32)
    sprite_depth = row_depth[:, None] - PART_BULGE[labels]
    return Sprite(labels=labels, depth=sprite_depth, left=left, top=top)
