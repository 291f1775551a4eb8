"""Headless Chromium as a test instrument: the DOM a page really renders, its console, and a screenshot.

Every run gets a fresh profile and no background networking, so nothing but the page itself can produce a
console message; the report has no scripts, so any console line is a failure (a CSP refusal, an error).
Run as a script to refresh the screenshot kept in the docs (the report of the three-region example, stamped
with the digest of what it shows, so that ``tests/unit/tools/test_docs.py`` fails when it is stale):
    python -m tests.browser.chromium --docs
"""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    # Offline by construction: any host lookup fails, so a page that needs the network shows it.
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
# Chromium prints page console messages as `INFO:CONSOLE(12)] "..."` (older) or `INFO:CONSOLE:12] "..."`.
CONSOLE_LINE = re.compile(r"CONSOLE[(:]\d*\)?\]? ?(.*)")


def find() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass(frozen=True)
class Page:
    dom: str
    console: list[str]


def _run(page: Path, extra: list[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    binary = find()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="tapstack-chromium-") as profile:
        return subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def load(page: Path) -> Page:
    """The DOM after rendering, and every console message the page produced."""
    done = _run(page, ["--enable-logging=stderr", "--v=0", "--dump-dom"])
    if done.returncode != 0 or "<html" not in done.stdout:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    console = [m.group(0) for line in done.stderr.splitlines() if (m := CONSOLE_LINE.search(line))]
    return Page(dom=done.stdout, console=console)


def screenshot(page: Path, out: Path, width: int = 1400, height: int = 2200) -> tuple[int, int]:
    """Write a PNG of the first ``width`` x ``height`` pixels; returns the size Chromium really wrote."""
    done = _run(page, [f"--window-size={width},{height}", f"--screenshot={out.resolve()}"])
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"chromium wrote no screenshot ({done.returncode}): {done.stderr[-2000:]}")
    return png_size(out.read_bytes())


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


STAMP_KEY = b"tapstack-report-sha256"
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "report.png"
SHOWN_SECTIONS = ("summary", "diagram")
"""What the docs' screenshot shows of the report: its summary and its diagram."""


def shown_digest(report_html: str) -> str:
    """sha256 of the report sections the screenshot shows (the time it was generated left out)."""
    import hashlib

    parts = []
    for name in SHOWN_SECTIONS:
        found = re.search(rf'<section id="{name}"[^>]*>.*?</section>', report_html, re.DOTALL)
        if found is None:
            raise ValueError(f"the report has no {name} section")
        parts.append(found.group(0))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _chunk(kind: bytes, body: bytes) -> bytes:
    import zlib

    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def stamp(png: bytes, digest: str) -> bytes:
    """``png`` with a tEXt chunk naming the digest of what it shows, before its IEND chunk."""
    end = png.rindex(b"IEND") - 4
    return png[:end] + _chunk(b"tEXt", STAMP_KEY + b"\0" + digest.encode()) + png[end:]


def stamped(png: bytes) -> str | None:
    """The digest a ``stamp`` wrote into ``png``, or None."""
    at = 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, body = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        if kind == b"tEXt" and body.startswith(STAMP_KEY + b"\0"):
            return body[len(STAMP_KEY) + 1 :].decode()
        at += 12 + length
    return None


def refresh_docs_screenshot() -> Path:
    """The three-region example's report, screenshot into docs/img/report.png with its digest."""
    from tapstack.cli import main

    examples = DOCS_SCREENSHOT.parents[2] / "examples"
    with tempfile.TemporaryDirectory(prefix="tapstack-report-") as work:
        report = Path(work) / "report.html"
        if main(["report", "--config", str(examples / "platform" / "Pulumi.dev.yaml"), "--out", str(report)]) != 0:
            raise RuntimeError("tapstack report failed")
        shot = Path(work) / "report.png"
        screenshot(report, shot)
        DOCS_SCREENSHOT.write_bytes(stamp(shot.read_bytes(), shown_digest(report.read_text())))
    return DOCS_SCREENSHOT


if __name__ == "__main__":
    if sys.argv[1:] == ["--docs"]:
        written = refresh_docs_screenshot()
        print(f"{written}: {png_size(written.read_bytes())}")
    else:
        size = screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
        print(f"{sys.argv[2]}: {size[0]}x{size[1]}")


MEASURE = """
<script>
const boxes = [];
for (const group of document.querySelectorAll("svg g.edge, svg g.cluster, svg g.node")) {
  const kind = group.getAttribute("class");
  const parts = kind === "node" ? group.querySelectorAll("path, polygon") : group.querySelectorAll("text");
  for (const part of parts) {
    const b = part.getBBox();
    const text = part.textContent;
    if (b.width > 0) boxes.push({kind, group: group.id, text, x: b.x, y: b.y, w: b.width, h: b.height});
  }
}
document.getElementById("boxes").textContent = JSON.stringify(boxes);
</script>
"""


@dataclass(frozen=True)
class Box:
    kind: str
    """``edge`` (an edge label), ``cluster`` (a cluster's title) or ``node`` (a box's outline)."""
    group: str
    """The SVG group drawing it: the lines of one label are one group."""
    text: str
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: Box, margin: float = 0.5) -> bool:
        return (
            self.x + margin < other.x + other.w
            and other.x + margin < self.x + self.w
            and self.y + margin < other.y + other.h
            and other.y + margin < self.y + self.h
        )


def rendered_boxes(svg: str, work: Path) -> list[Box]:
    """Where Chromium really draws every edge label, cluster title and box outline of ``svg`` (SVG units)."""
    page = work / "measure.html"
    page.write_text(f'<!DOCTYPE html><html><body>{svg}<pre id="boxes"></pre>{MEASURE}</body></html>')
    dom = load(page).dom
    found = re.search(r'<pre id="boxes">(.*?)</pre>', dom, re.DOTALL)
    if found is None:
        raise RuntimeError("the measuring script wrote nothing")
    return [Box(**b) for b in json.loads(html.unescape(found.group(1)))]


def overprints(boxes: list[Box]) -> list[tuple[str, str]]:
    """Pairs where an edge label overprints another edge label, a cluster title or a box."""
    labels = [b for b in boxes if b.kind == "edge"]
    others = [b for b in boxes if b.kind != "edge"]
    pairs = [
        (a.text, b.text) for i, a in enumerate(labels) for b in labels[i + 1 :] if a.group != b.group and a.overlaps(b)
    ]
    return pairs + [(a.text, f"{b.kind} {b.text}".strip()) for a in labels for b in others if a.overlaps(b)]
