"""A named registry: tracker families and each teacher's backends are looked up by the name the config gives.

Built-in entries are modules imported on first use (so parsing the workflow does not import torch or the model
code); plugins add entries with :meth:`Registry.register` from a module named under ``plugins:`` in config.yaml.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Generic, TypeVar

from motforge.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries by name. ``builtin`` maps a name to ``module`` (whose ``ENTRY`` is the entry) or ``module:ATTR``."""

    def __init__(self, kind: str, builtin: dict[str, str]) -> None:
        self.kind = kind
        self._builtin = dict(builtin)
        self._loaded: dict[str, T] = {}

    def register(self, entry: T) -> T:
        """Add (or replace) ``entry`` under ``entry.name``; returns it, so it can be used as a module-level call."""
        self._loaded[entry.name] = entry  # type: ignore[attr-defined]
        return entry

    def names(self) -> list[str]:
        return sorted({*self._builtin, *self._loaded})

    def builtin_names(self) -> list[str]:
        return sorted(self._builtin)

    def get(self, name: str, key: str) -> T:
        """The entry called ``name``; an unknown name is a ConfigError at ``key`` listing the choices."""
        if name not in self._loaded:
            if name not in self._builtin:
                raise ConfigError(key, f"unknown {self.kind} {name!r}; choose one of {', '.join(self.names())}")
            module, _, attr = self._builtin[name].partition(":")
            self._loaded[name] = getattr(importlib.import_module(module), attr or "ENTRY")
        return self._loaded[name]

    def all(self) -> list[T]:
        return [self.get(name, self.kind) for name in self.names()]


def load_plugins(modules: Iterable[str], key: str = "plugins") -> None:
    """Import each plugin module (it registers its families or backends when imported)."""
    for i, module in enumerate(modules):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(f"{key}[{i}]", f"cannot import plugin module {module!r}: {exc}") from None
