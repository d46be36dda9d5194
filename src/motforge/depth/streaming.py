"""Video Depth Anything's windowed inference, rewritten as a stream with bounded memory.

The network sees 32-frame windows that advance by 22 frames. The first 10 slots of every window after the first are
the previous window's keyframe inputs (slots 0, 12, 24..31): slot 0 is always the video's first frame and slot 1 a
frame whose aligned depth is known, so a least-squares scale and shift fitted on those two maps puts the new window
on the first window's scale. Slots 2..9 repeat the previous window's last 8 frames; their old and new depths are
blended linearly. Aligned frames are handed to ``sink`` as soon as they are final, so at most one window of depth
and 8 pending frames are held, whatever the sequence length (the reference runner keeps the whole video).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

INFER_LEN = 32
OVERLAP = 10
KEYFRAMES = (0, 12, 24, 25, 26, 27, 28, 29, 30, 31)
INTERP_LEN = 8
ALIGN_LEN = OVERLAP - INTERP_LEN  # 2 reference maps: the first frame and one keyframe
STEP = INFER_LEN - OVERLAP  # 22


def scale_and_shift(prediction: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Least-squares s, t minimising ||s * prediction + t - target||^2 (float64 sums)."""
    x = prediction.astype(np.float64).ravel()
    y = target.astype(np.float64).ravel()
    a00, a01, a11 = float(x @ x), float(x.sum()), float(x.size)
    b0, b1 = float(x @ y), float(y.sum())
    det = a00 * a11 - a01 * a01
    if abs(det) < 1e-12:
        return 1.0, 0.0
    return (a11 * b0 - a01 * b1) / det, (-a01 * b0 + a00 * b1) / det


def blend(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Linear cross-fade over the overlap: weight of ``current`` grows from 0 to 1 across the frames."""
    n = len(previous)
    w = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None, None]
    return previous * (1.0 - w) + current * w


def stream_depth(
    num_frames: int,
    frames: Iterator,
    forward: Callable[[list], np.ndarray],
    sink: Callable[[int, np.ndarray], None],
    progress: Callable[[int], None] | None = None,
    state: dict | None = None,
    frame_at: Callable[[int], object] | None = None,
    save: Callable[[dict], None] | None = None,
    metric: bool = False,
    forward_windows: Callable[[list[list]], np.ndarray] | None = None,
    windows_per_batch: int = 1,
) -> None:
    """Run the windowed inference over ``num_frames`` network inputs taken in order from ``frames``.

    ``forward(window)`` gets a list of 32 inputs and returns depth [32, h, w]; ``sink(t0, depth)`` receives aligned
    frames t0.. in order. The last frame is repeated to fill the final window, as the reference does.

    Resuming: after every window ``save(state)`` receives what the next window needs (its start, the frames written,
    the inputs consumed, the keyframe inputs' frame numbers, the 2 reference maps and the 8 pending maps). Called
    again with that ``state``, ``frames`` starting at input ``state["consumed"]`` and ``frame_at(i)`` loading input
    ``i``, the stream continues exactly as if it had never stopped.

    ``metric``: the network predicts metric depth, so windows are not re-aligned (scale 1, shift 0, as the reference
    does for its metric models); they are still blended over the overlap.

    Batching: a window's inputs are input frames only (its keyframes are the previous window's *inputs*), so they are
    known before any depth is computed. With ``forward_windows(windows) -> [n, 32, h, w]``, up to
    ``windows_per_batch`` windows go through the network together; the alignment still runs window by window, in order.
    """
    if num_frames < 1:
        return
    source = iter(frames)
    last_input = None
    consumed = 0  # inputs taken from the source; a repeated last frame counts as the last one again

    def take() -> tuple[object, int]:
        nonlocal last_input, consumed
        try:
            last_input = next(source)
            consumed += 1
        except StopIteration:
            if last_input is None:
                raise ValueError("no frames to process") from None
        return last_input, consumed - 1

    keyframe_inputs: list | None = None
    keyframe_indices: list[int] = []
    reference: list[np.ndarray] = []
    pending: np.ndarray | None = None  # aligned depth of the last INTERP_LEN frames, not yet final
    written = 0
    first_start = 0
    if state is not None:
        assert frame_at is not None, "resuming needs frame_at to reload the keyframe inputs"
        first_start, written, consumed = int(state["next_start"]), int(state["written"]), int(state["consumed"])
        keyframe_indices = [int(i) for i in state["keyframe_indices"]]
        keyframe_inputs = [frame_at(i) for i in keyframe_indices]
        reference = list(np.asarray(state["reference"], dtype=np.float32))
        pending = np.asarray(state["pending"], dtype=np.float32)
        last_input = frame_at(consumed - 1)
        if progress is not None:
            progress(min(first_start, num_frames))

    def emit(depth: np.ndarray) -> None:
        nonlocal written
        keep = depth[: max(0, num_frames - written)]
        if len(keep):
            sink(written, keep)
            written += len(keep)

    def next_window() -> tuple[list, list[int], int]:
        nonlocal keyframe_inputs, keyframe_indices
        if keyframe_inputs is None:
            taken = [take() for _ in range(INFER_LEN)]
            window, indices = [x for x, _ in taken], [i for _, i in taken]
        else:
            taken = [take() for _ in range(INFER_LEN - OVERLAP)]
            window = list(keyframe_inputs) + [x for x, _ in taken]
            indices = keyframe_indices + [i for _, i in taken]
        keyframe_inputs = [window[k] for k in KEYFRAMES]
        keyframe_indices = [indices[k] for k in KEYFRAMES]
        return window, indices, consumed

    if forward_windows is None:

        def forward_windows(windows: list[list]) -> np.ndarray:
            return np.stack([np.asarray(forward(w), dtype=np.float32) for w in windows])

    first_window = state is None
    starts = list(range(first_start, num_frames, STEP))
    per_batch = max(1, int(windows_per_batch))
    for b in range(0, len(starts), per_batch):
        batch = [(start, *next_window()) for start in starts[b : b + per_batch]]
        depths = np.asarray(forward_windows([window for _, window, _, _ in batch]), dtype=np.float32)
        for (start, _, indices, consumed_then), depth in zip(batch, depths):
            if first_window:
                first_window = False
                reference = [depth[k] for k in KEYFRAMES[:ALIGN_LEN]]
                emit(depth[: INFER_LEN - INTERP_LEN])
                pending = depth[INFER_LEN - INTERP_LEN :]
            else:
                scale, shift = (1.0, 0.0) if metric else scale_and_shift(depth[:ALIGN_LEN], np.stack(reference))
                aligned = np.maximum(depth * np.float32(scale) + np.float32(shift), 0.0)
                assert pending is not None
                emit(blend(pending, aligned[ALIGN_LEN:OVERLAP]))
                emit(aligned[OVERLAP : INFER_LEN - INTERP_LEN])
                pending = aligned[INFER_LEN - INTERP_LEN :]
                reference = [reference[0]] + [aligned[k] for k in KEYFRAMES[1:ALIGN_LEN]]
            if progress is not None:
                progress(min(STEP, num_frames - start))
            if save is not None and start + STEP < num_frames:
                save(
                    {
                        "next_start": start + STEP,
                        "written": written,
                        "consumed": consumed_then,
                        "keyframe_indices": np.array([indices[k] for k in KEYFRAMES]),
                        "reference": np.stack(reference),
                        "pending": pending,
                    }
                )
    if pending is not None:
        emit(pending)
