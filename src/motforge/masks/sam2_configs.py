"""Which SAM2 model configs may be named: only the YAML files shipped inside the installed sam2 package.

``build_sam2`` hands the name to Hydra, which instantiates every ``_target_`` in the file it finds; a name such as
``../../somewhere/evil.yaml`` would reach a YAML outside the package and run what it names. The schema pattern
refuses ``..`` and absolute paths even without sam2 installed; here the name must also be one of the package's
own files (sam2 1.1 ships ``configs/sam2/``, ``configs/sam2.1/`` and ``configs/sam2.1_training/``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from motforge.errors import ConfigError


def packaged_configs() -> list[str] | None:
    """Config names (``configs/sam2.1/sam2.1_hiera_t.yaml``) shipped in the sam2 package, found without importing
    it (its ``__init__`` starts Hydra); None when sam2 is not installed."""
    spec = importlib.util.find_spec("sam2")
    if spec is None or not spec.submodule_search_locations:
        return None
    names: set[str] = set()
    for location in spec.submodule_search_locations:
        package = Path(location)
        names.update(p.relative_to(package).as_posix() for p in (package / "configs").rglob("*.yaml"))
    return sorted(names)


def check_sam2_config(name: str, key: str) -> None:
    """Refuse a SAM2 config that is not one of the package's own files (``key`` names the setting in errors)."""
    configs = packaged_configs()
    if configs is None:
        return  # the backend itself reports the missing package when it runs; the schema pattern still applies
    if name not in configs:
        listed = ", ".join(c for c in configs if "training" not in c)
        raise ConfigError(key, f"{name!r} is not a config of the installed sam2 package; choose one of {listed}")
