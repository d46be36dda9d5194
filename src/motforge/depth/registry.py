"""The depth teacher's backends by name. A depth backend is one module with an ``ENTRY`` object that has:

- ``name``; ``check(block, key, context)`` and ``uses_gpu(block)`` (see :class:`motforge.teacher.TeacherBackend`);
- ``open(index, block, size, device, allow_downloads, progress) -> (attrs, produce)``, ``device`` resolved by the
  stage: ``attrs`` go on depth.zarr (``kind``:
  ``disparity`` or ``metric`` is required); ``produce(sink, state, save)`` calls ``sink(t0, depth[n, h, w])`` in
  frame order at ``size`` = (width, height), and may call ``save(position)`` so a killed job can resume.

``none`` is not a backend: it leaves the depth stages out of the DAG.
"""

from __future__ import annotations

from motforge.registry import Registry

DEPTH_BACKENDS: Registry = Registry(
    "depth backend",
    {
        "provided": "motforge.depth.backends.provided",
        "video_depth_anything": "motforge.depth.backends.video_depth_anything",
        "depth_anything_v2": "motforge.depth.backends.depth_anything_v2",
    },
)
