"""Small conventions for the lessons' figures, so every plot reads the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # hints only: importing this module does not import matplotlib
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis

__all__ = ["log_line", "plain_log_ticks"]


def log_line(ax: Axes, x: Any, y: Any, *, zero_label: str | None = None, **style: Any) -> None:
    """Draw ``y`` against ``x`` on a log y axis where it is above 0; mark exact zeros on the bottom edge instead.

    A log axis has no 0, and drawing an exact 0 at some small made-up value
    (1e-12) would show a difference that is not there. So the positive values
    are the line (``style`` as for ``ax.plot``), and each exact 0 is a tick
    ``|`` in the line's colour on the axes' bottom edge, labelled
    ``zero_label`` in the legend (unlabelled when ``None``; say in the
    legend or caption what the ticks mean).
    """
    import numpy as np

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ax.plot(x, np.where(y > 0, y, np.nan), **style)
    zero = y == 0
    if zero.any():
        ax.plot(
            x[zero],
            np.zeros(int(zero.sum())),
            linestyle="none",
            marker="|",
            markersize=12,
            color=style.get("color"),
            transform=ax.get_xaxis_transform(),  # x in data, y in axes units: 0 is the bottom edge
            clip_on=False,
            label=zero_label,
        )


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
