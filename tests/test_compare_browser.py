"""The comparison page in a real browser at 900 px: a screenshot for people to look at, and no sideways scroll.

Uses Debian's chromium (apt-get install -y chromium) headless; skipped, saying so, where it is not installed.
The screenshot is saved as tests/artifacts/compare-900.png (committed, so a change in the page shows in review).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from small_packs import DOCS, ROOT

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs a headless chromium (Debian: apt-get install -y "
                                                          "chromium); not installed here")
WIDTH = 900

# Opens every fold, then writes the page's widths into the page, for --dump-dom to read back. Added to a copy
# of the page only: the committed page has no script.
MEASURE = """<script>
for (const fold of document.querySelectorAll("details")) fold.open = true;
const root = document.documentElement;
const out = document.createElement("pre");
out.id = "measured";
out.textContent = "scrollWidth=" + root.scrollWidth + " clientWidth=" + root.clientWidth;
document.body.appendChild(out);
</script>"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
               f"--window-size={WIDTH},1200", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_screenshot_of_the_comparison_page_at_900_px(tmp_path: Path) -> None:
    page = DOCS / "comparison.html"
    shot = tmp_path / "compare-900.png"
    done = chromium(tmp_path, f"--screenshot={shot}", page.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    assert png_size(shot) == (WIDTH, 1200)
    if os.environ.get("RMFHC_UPDATE_ARTIFACTS"):  # regenerate the committed screenshot
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copyfile(shot, ARTIFACTS / "compare-900.png")


def test_no_sideways_scroll_at_900_px_with_every_fold_open(tmp_path: Path) -> None:
    page = (DOCS / "comparison.html").read_text(encoding="utf-8")
    measured = tmp_path / "measure.html"
    measured.write_text(page.replace("</body>", MEASURE + "\n</body>"), encoding="utf-8")
    done = chromium(tmp_path, "--dump-dom", measured.as_uri())
    found = re.search(r"scrollWidth=(\d+) clientWidth=(\d+)", done.stdout)
    assert found, done.stderr[-2000:]
    scroll, client = int(found.group(1)), int(found.group(2))
    assert client == WIDTH
    assert scroll <= client, f"the page is {scroll} px wide at a {client} px window: it scrolls sideways"
