"""The one rule for names that become path components and command-line values: datasets, splits, sequences,
models and ablation variants.

A name is used as a folder (``results/<ds>/seqs/<seq>/``), inside Snakemake file patterns and wildcard
constraints, and as the value of a command-line option. So it must not be ``.`` or ``..`` or contain ``/`` (it
would leave its folder), must not start with ``-`` (an option parser would read it as a flag), and must not hold
braces (Snakemake wildcards), regex or shell characters. Checked when the workflow is parsed (config keys, seqmap
lines, folder listings) and again where a job receives one.
"""

from __future__ import annotations

import re

#: letters, digits, ``_``, ``.``, ``-``; the first character a letter, digit or ``_`` (so never ``.``, ``..``, ``-x``)
NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
NAME_MAX_LENGTH = 128
ALLOWED = (
    "letters, digits, '_', '.' and '-', starting with a letter, digit or '_' "
    f"(so never '.', '..', '/' or a leading '-'), at most {NAME_MAX_LENGTH} characters"
)
_NAME = re.compile(NAME_PATTERN)


def name_problem(name: object, kind: str) -> str | None:
    """Why ``name`` (a ``kind``: 'sequence', 'split', ...) cannot be used, or None when it can."""
    if not isinstance(name, str):
        return f"{kind} name must be a string, got {type(name).__name__} {name!r}"
    if _NAME.fullmatch(name) is None or len(name) > NAME_MAX_LENGTH:
        return f"{kind} name {name!r} is not allowed: use only {ALLOWED}"
    return None


def braces_problem(value: object, kind: str) -> str | None:
    """Why a folder setting (a root, ``results``, ``logs``) cannot be used: braces would become Snakemake wildcards
    in the file patterns built from it."""
    if isinstance(value, str) and ("{" in value or "}" in value):
        return f"{kind} {value!r} contains '{{' or '}}', which Snakemake would read as a wildcard in its file patterns"
    return None
