"""Loading teacher checkpoints with errors that name the file, the config key and the likely cause.

A corrupt or truncated download otherwise surfaces as an UnpicklingError or a miniz message without the file name,
and a checkpoint of another model size as hundreds of lines of size mismatches. These helpers turn both into one
``ConfigError`` line (the CLI ends with exit 2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from motforge.errors import ConfigError
from motforge.io.weights import UnreadableCheckpointError, load_weights, not_a_checkpoint_reason  # noqa: F401


def load_torch_file(path: str | Path, key: str):
    """``io.weights.load_weights`` for a file a config key names: a damaged file is a ConfigError naming the key."""
    try:
        return load_weights(path, f"config key '{key}'")
    except UnreadableCheckpointError as exc:
        raise ConfigError(key, f"{path}: cannot load: {exc.reason}") from None


def state_dict_of(obj: object, path: str | Path, key: str, entry: str | None = None) -> Mapping:
    """The tensor mapping in a loaded checkpoint (``obj[entry]`` when the file wraps it, e.g. SAM2's "model")."""
    import torch

    if entry is not None:
        if not isinstance(obj, Mapping) or entry not in obj:
            found = sorted(obj)[:5] if isinstance(obj, Mapping) else type(obj).__name__
            raise ConfigError(
                key,
                f"{path}: a PyTorch file without the {entry!r} entry this model's checkpoints have "
                f"(found {found}); not a checkpoint of this model",
            )
        obj = obj[entry]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConfigError(key, f"{path}: not a state_dict (a mapping of names to tensors), got {type(obj).__name__}")
    return obj


def mismatch_summary(model, state: Mapping) -> str:
    """A few lines' worth of what differs between ``model``'s parameters and ``state``, instead of all of them."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    parts = []
    if shapes:
        k = shapes[0]
        parts.append(
            f"{len(shapes)} tensors differ in shape (e.g. {k}: file {tuple(state[k].shape)}, "
            f"model {tuple(own[k].shape)})"
        )
    if missing:
        parts.append(f"{len(missing)} model tensors missing from the file (e.g. {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} file tensors the model does not have (e.g. {unexpected[0]})")
    return "; ".join(parts) or "the state_dict does not fit the model"


def load_into(
    model, state: Mapping, path: str | Path, key: str, configured: str, guess: Callable[[Mapping], str | None]
) -> None:
    """``model.load_state_dict(state, strict=True)``; on a mismatch, a ConfigError saying what the file looks like."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError:
        looks_like = guess(state)
        cause = (
            f"the file looks like {looks_like}, the config asks for {configured}"
            if looks_like and looks_like != configured
            else f"the file does not fit {configured}"
        )
        raise ConfigError(
            key, f"{path}: checkpoint does not match the model: {cause} ({mismatch_summary(model, state)})"
        ) from None
