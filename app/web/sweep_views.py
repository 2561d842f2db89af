"""What the sweep pages show: trial rows and one server-rendered SVG scatter per searched parameter (torch-free)."""

from __future__ import annotations

import math
from typing import Any

from app.web.views import number

WIDTH, HEIGHT, PAD = 320, 200, 36


def trial_rows(sweep: Any) -> list[dict[str, Any]]:
    """The trials table: number, params in the space's order, status, objective, epochs, best marked."""
    best = sweep.best.number if sweep.best else None
    return [
        {
            "number": t.number,
            "batch": t.batch,
            "cells": [number(t.params.get(name)) for name in sweep.space],
            "status": t.status,
            "objective": number(t.objective),
            "epochs": t.epochs,
            "stop_reason": t.stop_reason or "",
            "best": t.number == best,
        }
        for t in sweep.trials
    ]


def _position(value: float, low: float, high: float, log: bool) -> float:
    """0..1 along an axis (log axes need positive values)."""
    if log:
        value, low, high = math.log10(value), math.log10(low), math.log10(high)
    return 0.5 if high == low else (value - low) / (high - low)


def scatter(name: str, points: list[tuple[Any, float, bool]], log: bool) -> dict[str, Any]:
    """One parameter against the objective: circles (the best filled), numeric or categorical x, for an SVG."""
    numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x, _, _ in points)
    log = log and numeric and all(x > 0 for x, _, _ in points)
    categories = [] if numeric else sorted({str(x) for x, _, _ in points})
    xs = [float(x) for x, _, _ in points] if numeric else [float(categories.index(str(x))) for x, _, _ in points]
    ys = [y for _, y, _ in points]
    x_low, x_high = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if not numeric:
        x_low, x_high = -0.5, len(categories) - 0.5
    y_low, y_high = (min(ys), max(ys)) if ys else (0.0, 1.0)
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    circles = [
        {
            "cx": round(PAD + inner_w * _position(x, x_low, x_high, log), 1),
            "cy": round(HEIGHT - PAD - inner_h * _position(y, y_low, y_high, False), 1),
            "best": best,
            "label": f"{name} {number(raw)}: objective {number(y)}",
        }
        for (raw, y, best), x in zip(points, xs, strict=True)
    ]
    ticks = [{"x": round(PAD + inner_w * _position(float(i), x_low, x_high, False), 1), "text": c}
             for i, c in enumerate(categories)]  # fmt: skip
    return {
        "name": name,
        "width": WIDTH,
        "height": HEIGHT,
        "pad": PAD,
        "circles": circles,
        "ticks": ticks,
        "x_range": (number(x_low), number(x_high)) if numeric else None,
        "y_range": (number(y_low), number(y_high)),
        "log": log,
    }


def scatters(sweep: Any) -> list[dict[str, Any]]:
    """A scatter per searched parameter over the complete trials."""
    complete = [t for t in sweep.trials if t.status == "complete" and t.objective is not None]
    best = sweep.best.number if sweep.best else None
    out = []
    for name, spec in sweep.space.items():
        points = [(t.params.get(name), float(t.objective), t.number == best) for t in complete if name in t.params]
        out.append(scatter(name, points, bool(isinstance(spec, dict) and spec.get("log"))))
    return out
