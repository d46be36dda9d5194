"""One device resolver for every stage: 'auto', 'cpu', 'cuda' or 'cuda:N', with errors that name the config key."""

from __future__ import annotations

import torch

from motforge.errors import ConfigError


def resolve_device(name: str, key: str) -> torch.device:
    """'auto' = the first CUDA device if any, else the CPU; 'cuda:N' and 'cpu' as given. ``key`` is the config key
    the value came from (``datasets.<ds>.depth.device``, ``models.<m>.train.device``), named in the error."""
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(key, f"{name!r} is not a device (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(key, f"{name!r} requested but CUDA is not available on this machine")
    return device
