"""The ``query`` family: end-to-end track-query trackers (MOTR, MOTRv2 proposals, MOTRv3's RFS/PLD/TGD, LA-MOTR's
separated detection, SGLA and tracklet update) on a Deformable-DETR core written in plain PyTorch.

One module per mechanism; each module's docstring names the paper section / equation or the upstream file it follows.
The package is self-contained: it registers nothing and reads no workflow config (the family registry wires it).
"""

from __future__ import annotations

from motforge.families.query.config import QueryModelConfig

__all__ = ["QueryModelConfig"]
