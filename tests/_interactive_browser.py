"""Moving the sliders of the site's interactive figures in a real browser.

:func:`move_every_slider` is the browser half of the interactive figures' tests: on a
page served by the built site it waits until Vega has drawn every figure, then moves each
slider (by keyboard, as a reader would) and checks that the KL values the figure shows
follow and stay finite, non-negative numbers. :func:`check_print_fallback` checks that a
printed page shows the static image instead. tests/test_interactive.py uses both on a small
built book; the browser test of the whole site can use them on the chapters.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

# "KL(P‖Q) = 0.3768": a divergence's label and the number Vega formatted for it
KL_VALUE = re.compile(r"(KL\([^)]*\))\s*=\s*([^\s,]+)")

WAIT_UNTIL_DRAWN = """
() => {
  const figures = Array.from(document.querySelectorAll('.klcourse-interactive'));
  return figures.length > 0 && figures.every(figure =>
    figure.classList.contains('klcourse-ready') && figure.querySelector('.klcourse-live svg'));
}
"""

READ_TEXTS = """
figure => Array.from(figure.querySelectorAll('.klcourse-live svg text')).map(t => t.textContent)
"""


@dataclass
class SliderMove:
    """One slider moved: what the figure's KL values were before and after."""

    figure: str
    slider: str
    before: dict[str, str]
    after: dict[str, str]


def kl_values(texts: list[str]) -> dict[str, str]:
    """The KL values among a figure's texts, by line and label (``"1: KL(Q‖P)"``)."""
    found = {}
    for line, text in enumerate(texts):
        for label, value in KL_VALUE.findall(text):
            found[f"{line}: {label}"] = value
    return found


def as_number(value: str) -> float:
    """A number as d3-format writes it (with U+2212 for minus); NaN if it is none."""
    try:
        return float(value.replace("\u2212", "-"))
    except ValueError:
        return math.nan


def move_every_slider(tab: Any, url: str, *, timeout: float = 30_000) -> list[SliderMove]:
    """Load ``url`` in the Playwright page ``tab``, move every slider of every figure.

    Each slider is moved to its far end (``End``, or ``Home`` when it starts there) with
    the keyboard. After each move at least one of the figure's KL values must change, and
    every KL value must read as a finite number >= 0. Raises AssertionError naming the
    figure and the slider otherwise; returns what it saw.
    """
    tab.goto(url, wait_until="load")
    tab.wait_for_function(WAIT_UNTIL_DRAWN, timeout=timeout)
    moves = []
    figures = tab.locator(".klcourse-interactive")
    assert figures.count() > 0, f"{url}: no interactive figure"
    for f in range(figures.count()):
        figure = figures.nth(f)
        name = figure.get_attribute("data-klcourse-figure") or f"figure {f}"
        sliders = figure.locator(".klcourse-live input[type=range]")
        assert sliders.count() > 0, f"{url}: {name} has no slider"
        for s in range(sliders.count()):
            slider = sliders.nth(s)
            label = slider.get_attribute("name") or f"slider {s}"
            before = kl_values(figure.evaluate(READ_TEXTS))
            assert before, f"{url}: {name} shows no KL value"
            at_end = float(slider.input_value()) >= float(slider.get_attribute("max"))
            slider.focus()
            slider.press("Home" if at_end else "End")
            after = _wait_for_change(tab, figure, before, timeout)
            moves.append(SliderMove(name, label, before, after))
            assert after != before, f"{url}: {name}: moving {label} changed no KL value ({before})"
            for key, value in after.items():
                number = as_number(value)
                assert math.isfinite(number) and number >= 0, (
                    f"{url}: {name}: after moving {label}, {key} shows {value!r}"
                )
    return moves


def _wait_for_change(tab: Any, figure: Any, before: dict[str, str], timeout: float) -> dict[str, str]:
    """The figure's KL values once they differ from ``before`` (or at the timeout)."""
    deadline = timeout
    step = 100
    while True:
        after = kl_values(figure.evaluate(READ_TEXTS))
        if after != before or deadline <= 0:
            return after
        tab.wait_for_timeout(step)
        deadline -= step


def check_print_fallback(tab: Any) -> None:
    """In print media, every figure shows its static image and hides the live chart."""
    tab.emulate_media(media="print")
    try:
        shown = tab.evaluate(
            """() => Array.from(document.querySelectorAll('.klcourse-interactive')).map(figure => ({
                 name: figure.dataset.klcourseFigure,
                 image: getComputedStyle(figure.querySelector('.klcourse-static')).display,
                 live: getComputedStyle(figure.querySelector('.klcourse-live')).display,
                 loaded: figure.querySelector('.klcourse-static').naturalWidth > 0,
               }))"""
        )
    finally:
        tab.emulate_media(media="screen")
    assert shown, "no interactive figure on the page"
    for figure in shown:
        assert figure["image"] != "none" and figure["loaded"], f"{figure['name']}: no static image in print"
        assert figure["live"] == "none", f"{figure['name']}: the live chart is printed"
