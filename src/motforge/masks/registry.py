"""The mask teacher's backends by name. A mask backend's ``ENTRY`` has ``name``, ``check(block, key, context)``,
``uses_gpu(block)`` (see :class:`motforge.teacher.TeacherBackend`) and ``masker(block, device_key)`` returning an
object with:

- ``batch_size``: frames per ``segment`` call; ``save_every_batch``: resume blocks are saved after every call;
- ``segment(batch)``: ``batch`` is a list of (frame number, BGR image at mask resolution, xyxy boxes [n, 4]); returns
  per frame (masks bool [n, h, w], scores float32 [n]) in box order.

``none`` is not a backend: it leaves masks and instance-depth labels out of the DAG.
"""

from __future__ import annotations

from motforge.registry import Registry

MASK_BACKENDS: Registry = Registry(
    "mask backend",
    {
        "box": "motforge.masks.backends:BOX",
        "grabcut": "motforge.masks.backends:GRABCUT",
        "sam2": "motforge.masks.backends:SAM2",
    },
)
