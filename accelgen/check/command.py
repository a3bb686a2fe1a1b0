"""The `accelgen check DIR` command: the HLS rule checker over a generated project."""

from __future__ import annotations

import argparse
from collections import Counter

from ..cli_help import examples


def cmd_check(args: argparse.Namespace) -> int:
    from . import RULES, check_project, project_dir

    folder = project_dir(args.dir)
    findings = check_project(folder)
    for f in findings:
        print(f.format())
    if not findings:
        print(f"check: {folder}: clean ({len(RULES)} rules)")
        return 0
    counts = Counter(f.rule for f in findings)
    print(f"check: {folder}: {len(findings)} findings (" + ", ".join(f"{r} {counts[r]}" for r in RULES if counts[r])
          + ")")
    return 1


def register(subparsers) -> None:
    """Add the `check` subcommand to the CLI's subparsers."""
    from . import RULES

    rules = "; ".join(f"{name}: {what}" for name, what in RULES.items())
    p = subparsers.add_parser("check", help="check the generated HLS C++ against the rules that keep Vitis's II "
                                            "and resources what the model prices (exit 1 on findings)",
                              description=f"Rules -- {rules}.",
                              **examples("accelgen check build/vit_digits-zcu102",
                                         "accelgen check build/vit_digits-zcu102/hls"))
    p.add_argument("dir", help="build folder (its hls/) or an HLS project folder holding accel_top.cpp")
    p.set_defaults(func=cmd_check)
