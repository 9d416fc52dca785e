"""A child's timeline: SVG and PNG from the same drawing, tooltips, shortened labels; rendered in headless Chromium."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pytest

from conftest import ROOT
from rmfhc import DutyState, evaluate, load_history, load_protocol
from rmfhc.cli import main
from rmfhc.timeline import COLOURS, draw, panels, shorten

EXAMPLE = ROOT / "examples" / "dorset_child_in_care.json"
AS_OF = datetime(2026, 11, 7, 10, 0, tzinfo=UTC)
ARTIFACTS = Path(__file__).parent / "artifacts"
SVG = "{http://www.w3.org/2000/svg}"


def example() -> tuple[Any, Any]:
    history = load_history(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    return evaluate(load_protocol("dorset"), history, AS_OF), history


def test_shorten_wraps_at_words_into_two_lines_at_most() -> None:
    assert shorten("Short title") == "Short title"
    text = ("Significant risk, child in care placed outside Dorset, Social Worker informs the Locality Service "
            "Manager or Head of Locality")
    lines = shorten(text, 40).split("\n")
    assert len(lines) == 2 and all(len(line) <= 40 for line in lines)
    assert lines[1].endswith("…") and text.startswith(lines[0])
    assert not any(word.endswith("-") for word in lines)


def test_panels_one_per_episode_with_the_open_one_still_missing() -> None:
    result, history = example()
    shown, omitted = panels(result, history)
    assert [p.episode.id for p in shown] == ["E1", "E2", "E3"] and omitted == 0
    assert shown[0].found is not None and shown[2].found is None  # E3 is still missing at as_of
    assert shown[2].end >= AS_OF
    assert sum(len(row.duties) for p in shown for row in p.rows) == len(result.duties)
    latest, left_out = panels(result, history, max_episodes=2)
    assert [p.episode.id for p in latest] == ["E2", "E3"] and left_out == 1


def test_svg_keeps_text_and_gives_every_row_a_tooltip_with_its_rule() -> None:
    result, history = example()
    svg = draw(result, history, "svg")
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == f"{SVG}svg"
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    for duty in result.duties:
        assert any(duty.title in t and f"rule {duty.rule}" in t and duty.source.section in t for t in titles)
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Episode E3 (missing)" in texts and "overdue" in texts
    assert "still missing" in texts
    # The same input gives the same SVG (no date in the metadata, fixed ids).
    assert draw(result, history, "svg") == svg


def test_png_is_the_same_drawing() -> None:
    result, history = example()
    png = draw(result, history, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    # The SVG's figure at 150 dpi: 14 inches wide, and as tall as the SVG (CSS pixels are 96 to the inch).
    _, svg_height = _size(draw(result, history, "svg"))
    assert pixels.shape[1] == 14 * 150 and abs(pixels.shape[0] - svg_height * 150 / 96) <= 1
    for state in (DutyState.OVERDUE, DutyState.DONE_ON_TIME, DutyState.STOOD_DOWN):  # all three in the example
        assert _has_colour(pixels, COLOURS[state]), state


def test_the_command_line_writes_svg_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["evaluate", "-p", "dorset", "--as-of", "2026-11-07T10:00Z", str(EXAMPLE)]
    assert main([*args, "--format", "svg"]) == 0
    assert capsys.readouterr().out.startswith("<?xml")
    assert main([*args, "--format", "png", "-o", str(tmp_path / "t.png")]) == 0
    assert (tmp_path / "t.png").read_bytes().startswith(b"\x89PNG")


def _has_colour(pixels: Any, colour: str, tolerance: float = 0.06) -> bool:
    rgb = np.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return bool((np.abs(pixels[..., :3] - rgb).max(axis=-1) < tolerance).sum() > 500)


# ---------------------------------------------------------------------------------------------------------
# In a real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--force-device-scale-factor=1", "--enable-logging=stderr", "--v=0"]
PAGE = """<!doctype html><html><head><title>timeline</title></head><body style="margin:0">
<img id="timeline" src="timeline.svg" alt="timeline">
<script>
  const image = document.getElementById("timeline");
  const say = (text) => { document.body.dataset.status = text; };
  window.addEventListener("error", (event) => say("error: " + (event.message || "a resource failed")), true);
  image.onload = () => say("loaded " + image.naturalWidth + "x" + image.naturalHeight);
  image.onerror = () => say("error: the SVG did not load");
  if (image.complete && image.naturalWidth) image.onload();
</script></body></html>
"""


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHROMIUM or "chromium", *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180, check=False)


def _size(svg: bytes) -> tuple[int, int]:
    """The SVG's size in CSS pixels (matplotlib writes points)."""
    root = ET.fromstring(svg)
    width, height = (float(re.sub(r"pt$", "", root.attrib[key])) * 4 / 3 for key in ("width", "height"))
    return round(width), round(height)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium); "
                                              ".ci/run installs it")
def test_the_svg_renders_in_chromium_without_errors(tmp_path: Path) -> None:
    result, history = example()
    svg = draw(result, history, "svg")
    (tmp_path / "timeline.svg").write_bytes(svg)
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    width, height = _size(svg)

    # The page that loads it as an image: loaded at its size, no error event.
    page = chromium(tmp_path / "profile-page", "--virtual-time-budget=5000", "--dump-dom",
                    (tmp_path / "page.html").as_uri())
    assert f'data-status="loaded {width}x{height}"' in page.stdout, page.stdout[-2000:] + page.stderr[-2000:]
    assert "Uncaught" not in page.stderr

    # The SVG opened itself, as a team member would: parsed without errors, tooltips in the DOM.
    dom = chromium(tmp_path / "profile-dom", "--dump-dom", (tmp_path / "timeline.svg").as_uri())
    assert "parsererror" not in dom.stdout and "<title>" in dom.stdout, dom.stderr[-2000:]

    shot = tmp_path / "timeline.png"
    done = chromium(tmp_path / "profile-shot", f"--screenshot={shot}", f"--window-size={width},{height}",
                    (tmp_path / "timeline.svg").as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000, done.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.05  # not a blank page
    assert _has_colour(pixels, COLOURS[DutyState.OVERDUE]) and _has_colour(pixels, COLOURS[DutyState.DONE_ON_TIME])
    if os.environ.get("RMFHC_UPDATE_ARTIFACTS"):  # regenerate the committed screenshot
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(shot, ARTIFACTS / "timeline.png")
