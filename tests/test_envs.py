"""The conda environments of the rules state the same lower bounds as pyproject.toml."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from conftest import ROOT

CONDA_NAMES = {"pytorch": "torch", "opencv": "opencv-python"}


def pyproject_bounds() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {m.group(1).lower(): m.group(2) for m in (re.match(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", d) for d in deps) if m}


@pytest.mark.parametrize("env", ["teachers", "train", "eval"])
def test_env_matches_pyproject(env):
    spec = yaml.safe_load((ROOT / "envs" / f"{env}.yaml").read_text())
    bounds = pyproject_bounds()
    entries = [d for d in spec["dependencies"] if isinstance(d, str)] + [
        p for d in spec["dependencies"] if isinstance(d, dict) for p in d.get("pip", [])
    ]
    checked = 0
    for entry in entries:
        m = re.match(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)", entry)
        if not m:
            continue
        name = CONDA_NAMES.get(m.group(1).lower(), m.group(1).lower())
        if name in bounds:
            assert bounds[name] == m.group(2), (
                f"envs/{env}.yaml: {name} >={m.group(2)} but pyproject.toml says >={bounds[name]}"
            )
            checked += 1
    assert checked >= 8
    assert (ROOT / "envs" / f"{env}.post-deploy.sh").is_file()  # installs motforge itself into the env
