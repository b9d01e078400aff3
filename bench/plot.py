"""One PNG per project: a horizontal bar per install scenario (median, min-max whisker)."""

from __future__ import annotations

from pathlib import Path

from bench.png import Canvas, Color, text_width
from bench.results import ProjectResult

WIDTH = 1000
ROW = 44
TOP = 70
LEFT = 24
_NPM: Color = (96, 125, 170)
_IPNPM: Color = (222, 122, 34)
_INK: Color = (30, 30, 30)
_GRID: Color = (225, 225, 225)


def plot_project(project: ProjectResult, keys: list[str], path: Path) -> None:
    rows = [project.series[k] for k in keys if k in project.series]
    canvas = Canvas(WIDTH, TOP + ROW * len(rows) + 40)
    title = f"{project.name}: {project.tarballs} tarballs, median of {project.runs} runs"
    canvas.text(LEFT, 16, title, _INK, scale=2)
    canvas.text(LEFT, 42, "seconds, lower is better; whisker: min-max", (110, 110, 110), 1)
    labels = [f"{i}. {s.label}" for i, s in enumerate(rows, start=1)]
    bars_x = LEFT + max(text_width(label) for label in labels) + 16
    bars_width = WIDTH - bars_x - 130
    top = max((max(s.seconds) for s in rows if s.seconds), default=1.0)
    scale = bars_width / top
    for tick in range(0, 11):
        x = bars_x + round(bars_width * tick / 10)
        canvas.rect(x, TOP - 6, 1, ROW * len(rows), _GRID)
    for i, (series, label) in enumerate(zip(rows, labels, strict=True)):
        y = TOP + i * ROW
        canvas.text(LEFT, y + 8, label, _INK)
        if series.median is None:
            canvas.text(bars_x, y + 8, "failed", (190, 30, 30))
            continue
        color = _IPNPM if series.key.startswith("ipnpm") else _NPM
        canvas.rect(bars_x, y, max(1, round(series.median * scale)), ROW - 14, color)
        low, high = (round(bars_x + v * scale) for v in (min(series.seconds), max(series.seconds)))
        middle = y + (ROW - 14) // 2
        canvas.rect(low, middle, max(1, high - low), 2, _INK)
        canvas.rect(low, middle - 6, 2, 14, _INK)
        canvas.rect(high, middle - 6, 2, 14, _INK)
        canvas.text(high + 10, y + 8, f"{series.median:.2f} s", _INK)
    canvas.text(bars_x, TOP + ROW * len(rows) + 8, f"0 .. {top:.1f} s", (110, 110, 110), 1)
    canvas.save(path)
