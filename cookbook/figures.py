"""Small conventions for the lessons' figures, so every plot reads the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # hints only: importing this module does not import matplotlib
    from matplotlib.axis import Axis

__all__ = ["plain_log_ticks"]


def plain_log_ticks(axis: Axis) -> None:
    """Label a log-scaled axis in plain numbers (0.05, 0.2, 1), with labelled minor ticks between the decades.

    Loss curves span a decade or two, where matplotlib's default labels
    only the powers of ten (often none at all, or ``6x10^-1``). Within one
    decade every digit gets a label (0.4, 0.5, ... 0.9); over a few, 2, 3
    and 5 per decade, enough to read a value without collisions. Call it
    after plotting, so the axis knows its range; pass ``ax.yaxis``.
    """
    import math

    from matplotlib.ticker import FormatStrFormatter, LogLocator

    low, high = sorted(axis.get_view_interval())
    decades = math.log10(high / low) if low > 0 else math.inf
    subs = tuple(range(2, 10)) if decades <= 1 else (2, 3, 5) if decades <= 3 else ()
    axis.set_major_formatter(FormatStrFormatter("%g"))
    axis.set_minor_locator(LogLocator(subs=subs))
    axis.set_minor_formatter(FormatStrFormatter("%g"))
