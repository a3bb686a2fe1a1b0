"""Examples shown at the end of each subcommand's ``--help``."""

from __future__ import annotations

import argparse


def examples(*commands: str) -> dict:
    """``add_parser`` keyword arguments that end the help with these example command lines."""
    return {"epilog": "examples:\n" + "\n".join(f"  {c}" for c in commands),
            "formatter_class": argparse.RawDescriptionHelpFormatter}
