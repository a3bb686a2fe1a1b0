"""`accelgen deploy DIR --to DEST`: copy DIR/deploy/ and the overlay Vivado built in DIR/hls/ (accelgen.bit,
accelgen.hwh and the HLS-exported register header, kept as the record of the register map) to a board
(``[USER@]HOST:PATH``, with rsync, else scp) or to a local folder."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..cli_help import examples
from ..errors import InputError

REMOTE = re.compile(r"^(?:[^@/:]+@)?[^@/:]+:")  # [user@]host:path


def overlay_files(build_dir: Path) -> tuple[list[Path], list[str]]:
    """(files found, names missing) of the overlay in DIR/hls."""
    from ..runtime.overlay import BITSTREAM
    from .datafile import REGISTER_HEADER

    hls = build_dir / "hls"
    wanted = [hls / BITSTREAM, hls / Path(BITSTREAM).with_suffix(".hwh")]
    found = [p for p in wanted if p.is_file()]
    headers = sorted(hls.rglob(REGISTER_HEADER)) if hls.is_dir() else []
    missing = [p.name for p in wanted if not p.is_file()] + ([] if headers else [REGISTER_HEADER])
    return found + headers[:1], missing


def copy_command(source: Path, dest: str) -> list[str]:
    """The command copying the contents of ``source`` to a remote ``dest`` folder."""
    if shutil.which("rsync"):
        return ["rsync", "-a", f"{source}/", f"{dest.rstrip('/')}/"]
    return ["scp", "-r", "-q", str(source), dest]


def deploy(build_dir: str | Path, dest: str) -> tuple[int, list[str]]:
    """Copy the deploy folder (and the overlay, where built); (files copied, overlay files missing)."""
    from ..build_dir import is_build_dir
    from .package import DEPLOY_DIR

    build_dir = Path(build_dir)
    if not is_build_dir(build_dir):
        raise InputError(f"{build_dir}: not a build folder (run `accelgen build` first)")
    if not (build_dir / DEPLOY_DIR).is_dir():
        raise InputError(f"{build_dir}: no {DEPLOY_DIR}/ (built by an older accelgen: run `accelgen build` again)")
    found, missing = overlay_files(build_dir)
    with tempfile.TemporaryDirectory(prefix="accelgen_deploy_") as tmp:
        staging = Path(tmp) / DEPLOY_DIR
        shutil.copytree(build_dir / DEPLOY_DIR, staging)
        for path in found:
            shutil.copy2(path, staging / path.name)
        count = sum(1 for p in staging.rglob("*") if p.is_file())
        if REMOTE.match(dest):
            command = copy_command(staging, dest)
            proc = subprocess.run(command, capture_output=True, text=True)
            if proc.returncode != 0:
                detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                raise InputError(f"--to {dest}: {command[0]} failed: {detail}")
        else:
            target = Path(dest)
            if target.exists() and not target.is_dir():
                raise InputError(f"--to {dest}: exists and is not a folder")
            shutil.copytree(staging, target, dirs_exist_ok=True)
    return count, missing


def cmd_deploy(args: argparse.Namespace) -> int:
    count, missing = deploy(args.dir, args.to)
    print(f"deploy: copied {count} files to {args.to}")
    if missing:
        print(f"deploy: note: {', '.join(missing)} not in {Path(args.dir) / 'hls'} yet -- build the overlay with "
              "Vitis HLS and Vivado (hls/README.md) and deploy again")
    return 0


def register(subparsers) -> None:
    """Add the `deploy` subcommand to the CLI's subparsers."""
    p = subparsers.add_parser("deploy", help="copy a build's deploy folder (driver, notebook, blob) and overlay to a "
                                             "PYNQ board",
                              **examples("accelgen deploy build/vit_digits-zcu104 --to xilinx@pynq:/home/xilinx/accelgen",
                                         "accelgen deploy build/vit_digits-kv260 --to /media/sdcard/accelgen"))
    p.add_argument("dir", help="build folder")
    p.add_argument("--to", required=True, help="USER@HOST:PATH (rsync or scp) or a local folder")
    p.set_defaults(func=cmd_deploy)
