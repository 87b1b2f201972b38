"""cookbook.figures: how every lesson draws on a log axis."""

from cookbook.figures import log_line

import numpy as np
import pytest
from matplotlib.figure import Figure

pytestmark = pytest.mark.backend_agnostic  # matplotlib only


def test_log_line_marks_exact_zeros_on_the_bottom_edge_and_draws_only_positive_values():
    """The line holds the positive values (NaN where 0); each exact 0 is a tick at y = 0 in axes units."""
    ax = Figure().subplots()
    ax.set_yscale("log")
    log_line(ax, [1, 2, 3, 4], [1e-3, 0.0, 1e-5, 0.0], zero_label="exactly 0", color="C1", label="gap")
    line, zeros = ax.get_lines()
    assert line.get_label() == "gap" and line.get_transform() == ax.transData
    np.testing.assert_array_equal(line.get_ydata(), [1e-3, np.nan, 1e-5, np.nan])
    assert zeros.get_transform() == ax.get_xaxis_transform() and zeros.get_label() == "exactly 0"
    np.testing.assert_array_equal(zeros.get_xdata(), [2.0, 4.0])
    np.testing.assert_array_equal(zeros.get_ydata(), [0.0, 0.0])
    assert zeros.get_color() == line.get_color() and zeros.get_marker() == "|"


def test_log_line_without_zeros_draws_one_line():
    """No exact 0, no edge marks."""
    ax = Figure().subplots()
    log_line(ax, [1, 2], [0.5, 0.25])
    assert len(ax.get_lines()) == 1
