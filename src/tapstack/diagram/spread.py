"""Edge labels that do not overprint: Graphviz's SVG with each colliding label moved to the nearest free spot.

In a left-to-right layout ``dot`` places an edge's label beside its edge without regard for labels of edges
that leave the same box (the function's fan-out: ``GetSecretValue`` over ``GetParameter``) or for the title of
a cluster the edge enters; at fit-to-width the words print over each other. After layout, each label that
overlaps a box, a cluster title or a label already placed is moved, all its lines together, by the smallest
vertical (then horizontal) step that clears them. Text widths are Helvetica's average character widths,
rounded up (``text_width``); the browser test measures the real ones and fails on any overprint left.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

SVG = "{http://www.w3.org/2000/svg}"
STEP = 2.0
"""Points per step of the search around a label's own place."""
REACH = 40
"""Steps tried in each direction before a label is left where Graphviz put it."""
_NARROW = frozenset("iljtfrI.,:;'|!()[]/ ")
_WIDE = frozenset("mwMWOQGCDHNU@%")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def text_width(text: str, size: float) -> float:
    """Helvetica's advance width of ``text`` at ``size`` points, rounded up a little (never under-estimated
    for the labels TapStack draws: lower case, digits, punctuation)."""
    units = sum(0.3 if c in _NARROW else 0.85 if c in _WIDE else 0.6 if c.isupper() else 0.56 for c in text)
    return units * size * 1.05


@dataclass
class Rect:
    x0: float
    y0: float
    x1: float
    y1: float

    def hits(self, other: Rect, gap: float = 1.0) -> bool:
        return (
            self.x0 - gap < other.x1
            and other.x0 - gap < self.x1
            and self.y0 - gap < other.y1
            and other.y0 - gap < self.y1
        )

    def moved(self, dx: float, dy: float) -> Rect:
        return Rect(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)


def _text_rect(element: ET.Element) -> Rect:
    size = float(element.get("font-size", "14"))
    x, y = float(element.get("x", "0")), float(element.get("y", "0"))
    width = text_width("".join(element.itertext()), size)
    anchor = element.get("text-anchor", "start")
    left = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
    return Rect(left, y - size, left + width, y + size * 0.25)


def _shape_rect(element: ET.Element) -> Rect | None:
    numbers = [float(n) for n in _NUMBER.findall(element.get("d") or element.get("points") or "")]
    xs, ys = numbers[0::2], numbers[1::2]
    return Rect(min(xs), min(ys), max(xs), max(ys)) if xs and ys else None


def _groups(root: ET.Element, kind: str) -> Iterator[ET.Element]:
    return (g for g in root.iter(f"{SVG}g") if g.get("class") == kind)


def _offsets() -> Iterator[tuple[float, float]]:
    """Nearest first: up and down one step, two steps, ...; then the same a little left and right."""
    for dx in (0.0, -6 * STEP, 6 * STEP):
        for k in range(1, REACH + 1):
            yield dx, -k * STEP
            yield dx, k * STEP


def spread_labels(svg: str) -> str:
    """``svg`` (Graphviz's) with every edge label that overprints something moved clear of it."""
    root = ET.fromstring(svg)
    obstacles: list[Rect] = []
    for node in _groups(root, "node"):
        obstacles += [r for s in node.iter() if s.tag in (f"{SVG}path", f"{SVG}polygon") if (r := _shape_rect(s))]
    for cluster in _groups(root, "cluster"):
        obstacles += [_text_rect(t) for t in cluster.iter(f"{SVG}text")]
    labels = [
        (texts, [_text_rect(t) for t in texts])
        for edge in _groups(root, "edge")
        if (texts := list(edge.iter(f"{SVG}text")))
    ]
    moves: dict[int, tuple[float, float]] = {}
    order = {id(t): i for i, t in enumerate(root.iter(f"{SVG}text"))}
    placed: list[Rect] = []
    for texts, rects in labels:
        clear = not any(r.hits(o) for r in rects for o in obstacles + placed)
        shift = (0.0, 0.0)
        if not clear:
            shift = next(
                (
                    (dx, dy)
                    for dx, dy in _offsets()
                    if not any(r.moved(dx, dy).hits(o) for r in rects for o in obstacles + placed)
                ),
                (0.0, 0.0),
            )
        placed += [r.moved(*shift) for r in rects]
        if shift != (0.0, 0.0):
            moves.update({order[id(t)]: shift for t in texts})
    return _apply(svg, moves) if moves else svg


def _apply(svg: str, moves: dict[int, tuple[float, float]]) -> str:
    """Shift the ``x``/``y`` of the n-th ``<text`` element of the source text, leaving every other byte as is."""
    index = -1

    def shifted(match: re.Match[str]) -> str:
        nonlocal index
        index += 1
        if index not in moves:
            return match.group(0)
        dx, dy = moves[index]
        tag = re.sub(r'\bx="([^"]+)"', lambda m: f'x="{float(m.group(1)) + dx:.2f}"', match.group(0), count=1)
        return re.sub(r'\by="([^"]+)"', lambda m: f'y="{float(m.group(1)) + dy:.2f}"', tag, count=1)

    return re.sub(r"<text\b[^>]*>", shifted, svg)
