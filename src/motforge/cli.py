"""``python -m motforge <stage> ...``: one subcommand per pipeline stage; every workflow rule calls one of these.

Each stage package owns its subcommands (``<stage>/cli.py: add_commands``); this module only assembles them.
Values come as explicit arguments (JSON for a stage's settings block), never from a global config, so a rule's
command line says everything the stage depends on. Errors in the input end with a one-line message naming the
file and line (or config key) and exit status 2. ``--plugin=<module>`` (before the subcommand) imports a module
that registers tracker families or teacher backends, as ``plugins:`` in config.yaml does for the workflow.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from motforge.errors import MotforgeError
from motforge.registry import load_plugins

#: the stage packages whose ``cli`` module adds subcommands, in pipeline order
STAGES = ("synthdance", "datasets", "depth", "masks", "detect", "families", "evaluate", "analysis", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m motforge", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (registers families/backends)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="<stage>")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:  # noqa: ANN001
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument("--no-progress", action="store_true", help="hide progress bars")
        return p

    for stage in STAGES:
        importlib.import_module(f"motforge.{stage}.cli").add_commands(add)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        load_plugins(args.plugin, key="--plugin")
        args.func(args)
    except MotforgeError as exc:
        print(f"motforge {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0
