"""What every stage's subcommands share: JSON-object arguments and the signature of ``add_commands``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

#: ``add(name, func, help)`` returns the subcommand's parser (with ``--no-progress`` already added)
AddCommand = Callable[[str, Callable[[argparse.Namespace], None], str], argparse.ArgumentParser]


def json_object(text: str) -> dict:
    """A settings block given on the command line as JSON (rules pass config blocks this way)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value
