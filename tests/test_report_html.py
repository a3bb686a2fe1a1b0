"""report.html: written by every build, a function of report.json only, deterministic, self-contained; its plots
place report.json's figures (read back from the SVG geometry); and it renders in a real headless Chromium."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess

import numpy as np
import pytest
from conftest import run_cli
from html_checks import external_references

from accelgen.reporting.build_page import report_html

pytestmark = [pytest.mark.sim, pytest.mark.xdist_group("report_html")]  # one build for the module

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars")
NUMBER = r"(-?[\d.]+)"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("b") / "digits"
    proc = run_cli("build", "--board", "zcu102", "--fps", "20000", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, json.loads((out / "report.json").read_text()), (out / "report.html").read_text()


def group(html: str, gid: str) -> str:
    """The SVG group matplotlib wrote for the artist with ``gid`` (up to the next sibling group)."""
    start = html.index(f'<g id="{gid}">')
    return html[start:html.index("</g>", start)]


def bar(html: str, gid: str) -> tuple[float, float]:
    """(left x, width) of a horizontal bar."""
    x0, _, x1 = map(float, re.search(rf"<path d=\"M {NUMBER} {NUMBER}\s+L {NUMBER} ", group(html, gid)).groups())
    return x0, x1 - x0


def marker(html: str, gid: str) -> tuple[float, float]:
    """(x, y) of a single plotted marker."""
    start = html.index(f'<g id="{gid}">')
    x, y = re.search(rf"<use xlink:href=\"#\w+\" x=\"{NUMBER}\" y=\"{NUMBER}\"", html[start:]).groups()
    return float(x), float(y)


def assert_affine(values: list[float], pixels: list[float], tol: float = 0.02) -> None:
    """pixels = a * values + b for one (a, b): the plot places every value on one axis scale."""
    a, b = np.polyfit(values, pixels, 1)
    assert abs(a) > 0
    assert np.max(np.abs(a * np.asarray(values) + b - np.asarray(pixels))) < tol, (values, pixels)


def assert_proportional(values: list[float], lengths: list[float], tol: float = 0.02) -> None:
    """lengths = a * values: bars start at zero."""
    v, p = np.asarray(values, float), np.asarray(lengths, float)
    a = float(v @ p / (v @ v))
    assert a > 0 and np.max(np.abs(a * v - p)) < tol, (values, lengths)


def test_build_writes_report_html_from_report_json(built):
    out, report, html = built
    assert report_html(report) == html  # the page is a function of report.json alone
    assert report_html(json.loads(json.dumps(report))) == html  # and deterministic
    assert not external_references(html)
    for figure_id in ("roofline", "layer-time", "resources", "pareto"):
        assert html.count(f'<svg id="{figure_id}"') == 1


def test_layer_bars_are_the_report_cycles_coloured_by_bound(built):
    _, report, html = built
    lefts, widths = zip(*(bar(html, f"cycles-{i}") for i in range(len(report["layers"]))))
    assert max(lefts) - min(lefts) < 1e-6
    assert_proportional([layer["cycles"] for layer in report["layers"]], list(widths))
    for i, layer in enumerate(report["layers"]):
        red = "fill: #d62728" in group(html, f"cycles-{i}")
        assert red == (layer["name"] in report["memory_bound_layers"])
        label = f"{layer['name']} [{layer['unit']}]"
        assert f">{label}<" in html


def test_roofline_places_every_layer_and_the_design(built):
    _, report, html = built
    clock = report["clock_mhz"]
    xs, ys, xp, yp = [], [], [], []
    for i, layer in enumerate(report["layers"]):
        if layer["macs"] and layer["cycles"]:
            x, y = marker(html, f"layer-{i}")
            ys.append(math.log10(layer["macs"] * clock * 1e6 / layer["cycles"]))
            yp.append(y)
            if layer["ddr_bytes"]:
                xs.append(math.log10(layer["macs"] / layer["ddr_bytes"]))
                xp.append(x)
        elif layer["macs"] == 0:
            assert f'id="layer-{i}"' not in html
    total = sum(layer["macs"] for layer in report["layers"])
    x, y = marker(html, "design")
    xs.append(math.log10(total / report["ddr_bytes_per_frame"]))
    xp.append(x)
    ys.append(math.log10(total * report["fps"]))
    yp.append(y)
    assert_affine(xs, xp)
    assert_affine(ys, yp)
    units = [layer["unit"] for layer in report["layers"] if not layer["macs"]]
    for unit in set(units):
        assert f"{units.count(unit)} {unit}" in html[html.index('id="roofline-section"'):]
    # the compute roofs: the engine's and the board's peak MAC/s, on the same y scale as the points
    a, b = np.polyfit(ys, yp, 1)
    for gid, key in (("roof-engine", "engine_macs_per_cycle"), ("roof-board", "board_macs_per_cycle")):
        flat = float(re.findall(rf"L {NUMBER} {NUMBER}", group(html, gid))[-1][1])
        assert abs(a * math.log10(report["roofline"][key] * clock * 1e6) + b - flat) < 0.02


def test_resources_and_caps(built):
    _, report, html = built
    shares, widths, caps, cap_x = [], [], [], []
    for kind, r in report["resources"].items():
        left, width = bar(html, f"resource-{kind}")
        shares.append(r["used"] / r["available"] if r["available"] else 0.0)
        widths.append(width)
        caps.append(r["cap"])
        cap_x.append(float(re.search(rf"<path d=\"M {NUMBER} ", group(html, f"cap-{kind}")).group(1)) - left)
    assert_proportional(shares + caps, widths + cap_x)


def test_pareto_front_and_the_chosen_design(built):
    _, report, html = built
    front = report["pareto_front"]
    assert len(front) > 3
    for kind in ("dsp", "lut"):
        points = [marker(html, f"pareto-{kind}-{i}") for i in range(len(front))] + [marker(html, f"chosen-{kind}")]
        used = [p["resources"][kind] for p in front] + [report["resources"][kind]["used"]]
        fps = [p["fps"] for p in front] + [report["fps"]]
        assert_affine(used, [p[0] for p in points])
        assert_affine(fps, [p[1] for p in points])


def test_accuracy_and_formats_sections_follow_the_report(built):
    _, report, html = built
    a = report["accuracy"]
    table = html[html.index('id="accuracy-table"'):]
    table = table[:table.index("</table>")]
    for value in (a["integer_design"], a["integer_all_fixed8"], a["brevitas_float"]):
        assert f">{100 * value:.2f}%<" in table
    assert 'id="formats"' not in html
    formats = [{"tensor": "blocks.0.add", "bits": 12, "snr_db": 41.5}, {"tensor": "blocks.0.q", "bits": 8}]
    other = report_html({k: v for k, v in report.items() if k != "accuracy"} | {"chosen_formats": formats})
    section = other[other.index('id="formats"'):]
    assert ">blocks.0.add<" in section and ">12<" in section and ">41.5<" in section and ">snr_db<" in section
    assert "accelgen evaluate" in other[other.index('id="accuracy"'):]


def test_report_renders_in_headless_chromium(built, tmp_path):
    from PIL import Image

    out, report, _ = built
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: run scripts/system_deps.sh (as root) to install it")
    base = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    url = (out / "report.html").resolve().as_uri()
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "CONSOLE" not in dom.stderr and "net::ERR" not in dom.stderr, dom.stderr[-2000:]
    for figure_id in ("roofline", "layer-time", "resources", "pareto"):
        assert f'<svg id="{figure_id}"' in dom.stdout
    for i in range(len(report["layers"])):
        assert f'id="cycles-{i}"' in dom.stdout
    assert all(f'id="pareto-dsp-{i}"' in dom.stdout for i in range(len(report["pareto_front"])))
    shot = tmp_path / "report.png"
    proc = subprocess.run([*base, "--window-size=1200,3600", f"--screenshot={shot}", url], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    assert np.mean(np.any(pixels < 250, axis=1)) > 0.05  # not blank
    colours = {tuple(c) for c in np.unique(pixels, axis=0)}
    # drawn fills: engine bars, memory-bound bar, unit bars, the design's gold star
    for hex_colour in ("#1f77b4", "#d62728", "#2ca02c", "#ffd700"):
        rgb = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
        assert np.sum(np.all(pixels == rgb, axis=1)) > 50, hex_colour
    assert len(colours) > 100  # the viridis-coloured Pareto points and antialiased text
