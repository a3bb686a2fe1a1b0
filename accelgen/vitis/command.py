"""The `accelgen synth DIR` command (and `accelgen build --synth`): Vitis HLS and Vivado on a build folder,
their figures beside the model's."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli_help import examples


def synth_and_print(folder: Path, run: bool) -> int:
    from .synth import synth

    section = synth(folder, run=run)
    for r in section["resources"]:
        print(f"  {r['kind']:7} model {r['model']:>9,}  csynth {r['csynth'] if r['csynth'] is not None else '-':>9}  "
              f"implemented {r['implemented'] if r['implemented'] is not None else '-':>9}  of {r['available']:,}")
    differs = [lp for lp in section["loops"] if not lp["as_modelled"]]
    for lp in differs:
        print(f"  loop {lp['loop']}: II {lp['ii']}, modelled {lp['modelled_ii']}")
    timing = section["timing"]
    closing = "not implemented" if timing is None else f"WNS {timing['wns_ns']:g} ns"
    print(f"synth: {len(section['loops'])} loops ({len(differs)} with an II other than modelled), {closing}; "
          f"wrote {folder / 'report.md'} and report.json (\"vitis\")")
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    return synth_and_print(Path(args.dir), run=not args.reports_only)


def register(subparsers) -> None:
    """Add the `synth` subcommand to the CLI's subparsers."""
    p = subparsers.add_parser("synth", help="run Vitis HLS and Vivado on a build folder (when installed) and report "
                                            "their II, resources and timing beside the model's",
                              **examples("accelgen synth build/vit_digits-zcu102",
                                         "accelgen synth build/vit_digits-zcu102 --reports-only"))
    p.add_argument("dir", help="build folder (written by `accelgen build`)")
    p.add_argument("--reports-only", action="store_true",
                   help="do not run the tools: read the reports already in DIR/hls (e.g. from another machine)")
    p.set_defaults(func=cmd_synth)
