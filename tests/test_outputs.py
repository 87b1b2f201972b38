"""cookbook.outputs: every file a lesson writes is named after it, under its --out folder."""

from cookbook import outputs
from cookbook.settings import Settings

import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run


def test_tables_and_figures_are_named_after_the_lesson(tmp_path):
    """save_table writes CSV and Markdown, save_figure a PNG, all as <out>/<lesson>[_name].*; out is created."""
    from matplotlib.figure import Figure

    settings = Settings("01_lesson", out=tmp_path / "out")
    csv_path, md_path = outputs.save_table(pd.DataFrame({"a": [1.0, 2.5], "b": ["x|y", "z"]}), settings)
    assert (csv_path.name, md_path.name) == ("01_lesson.csv", "01_lesson.md")
    assert pd.read_csv(csv_path)["a"].tolist() == [1.0, 2.5]
    assert "x\\|y" in md_path.read_text(), "a pipe in a cell is escaped in Markdown"
    fig = Figure()
    fig.subplots().plot([0, 1], [1, 0])
    png = outputs.save_figure(fig, settings, "curve")
    assert png.name == "01_lesson_curve.png" and png.read_bytes()[:4] == b"\x89PNG"


def test_a_figures_caption_is_its_title_in_words():
    """suptitle first, else the panels' titles (lettered when several), else the file name's words."""
    from matplotlib.figure import Figure

    figure = Figure()
    left, right = figure.subplots(1, 2)
    assert outputs.figure_caption(figure, "loss_curve") == "Loss curve"
    left.set_title("Loss")
    assert outputs.figure_caption(figure, "x") == "Loss"
    right.set_title("Rate")
    assert outputs.figure_caption(figure, "x") == "(a) Loss; (b) Rate"
    figure.suptitle("Two optimizers")
    assert outputs.figure_caption(figure, "x") == "Two optimizers"
