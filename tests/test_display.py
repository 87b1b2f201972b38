"""cookbook.display: tables shown as text in a terminal and as HTML on the course site."""

import math

from cookbook import display

import pandas as pd


def test_table_html_aligns_numbers_right_and_text_left():
    """Numeric columns carry class="num" (right-aligned), text columns none; 4-5 digits; NaN blank; escaped."""
    table = pd.DataFrame({"optimizer": ["SGD", "<Adam>"], "loss": [0.123456789, math.nan], "steps": [10, 20]})
    rendered = display.table_html(table, "Final loss")
    assert '<th>optimizer</th><th class="num">loss</th><th class="num">steps</th>' in rendered
    assert '<td>SGD</td><td class="num">0.12346</td><td class="num">10</td>' in rendered
    assert '<td>&lt;Adam&gt;</td><td class="num"></td>' in rendered
    assert rendered.startswith('<div class="cookbook-table"><p class="table-title">Final loss</p>')
    assert '<div class="table-scroll">' in rendered, "a wide table scrolls in its own box"


def test_show_publishes_html_while_recorded_and_prints_otherwise(monkeypatch, capsys):
    """Under the recorder, show() hands over the HTML table and its text; in a terminal it prints the text."""
    table = pd.DataFrame({"a": [1]})
    display.show(table, "T")
    printed = capsys.readouterr().out
    published = []
    monkeypatch.setattr(display, "_publish", lambda data, text, metadata=None: published.append((data, text)))
    display.show(table, "T")
    assert published == [({"text/html": display.table_html(table, "T")}, printed)]
