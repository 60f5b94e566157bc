"""Make the README's screenshots of `semsearch ui`: docs/ui-search.png and docs/ui-file-view.png.

    python docs/make_screenshots.py

The sample corpus is copied to a neutral folder (a temporary `notes/`), indexed, served by a real
`semsearch ui` and shot in headless Chromium (Debian's `chromium`, under Playwright), so no
screenshot shows a path of the machine that made it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "how do I rotate the logs?"


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        notes = Path(tmp) / "notes"
        shutil.copytree(ROOT / "data", notes)
        index = Path(tmp) / "index"
        semsearch = [sys.executable, "-m", "semsearch"]
        subprocess.run([*semsearch, "index", str(notes), "--index", str(index), "--embedder", "local"], check=True)
        ui = subprocess.Popen(
            [*semsearch, "ui", "--index", str(index), "--embedder", "local", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # where it says its address
            text=True,
        )
        try:
            url = next(line for line in ui.stdout if "search page at " in line).split("search page at ")[1].split()[0]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1200, "height": 720})
                page.goto(url)
                page.locator("#q").press_sequentially(QUESTION, delay=20)
                page.wait_for_selector("#results li.card:nth-child(5)")
                page.wait_for_timeout(300)
                page.screenshot(path=str(ROOT / "docs" / "ui-search.png"))
                page.locator("#q").press("Enter")
                page.wait_for_url("**/file/**")
                page.wait_for_timeout(300)
                page.screenshot(path=str(ROOT / "docs" / "ui-file-view.png"))
                browser.close()
        finally:
            ui.terminate()
            ui.wait(timeout=30)
    for name in ("ui-search.png", "ui-file-view.png"):
        shrink(ROOT / "docs" / name)


def shrink(path: Path) -> None:
    """A 256-color palette: a third of the size, and a screenshot of flat colors looks the same."""
    from PIL import Image

    Image.open(path).convert("RGB").quantize(256).save(path, optimize=True)


if __name__ == "__main__":
    main()
