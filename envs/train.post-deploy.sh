#!/usr/bin/env bash
# Snakemake runs this inside the new conda env, from the workflow's working directory (the repository root):
# install motforge itself without touching the env's pinned dependencies.
set -euo pipefail
python -m pip install --no-deps --no-build-isolation -e "$PWD"
