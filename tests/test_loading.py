"""cookbook.loading: a lesson's data from its settings; input it cannot use ends with one line and exit 2."""

from cookbook import loading
from cookbook.settings import Settings

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run


def test_the_bundled_table_loads_and_splits_with_the_settings_seed():
    """The bundled Diabetes table, split 75/25 with the seed; the same seed gives the same split."""
    settings = Settings("01_lesson", data="diabetes", seed=3)
    table = loading.load_table(settings, "regression")
    first, again = loading.split_table(settings, table), loading.split_table(settings, table)
    assert len(first.train) + len(first.test) == len(table.features)
    pd.testing.assert_frame_equal(first.train, again.train)


def test_a_csv_whose_target_is_empty_ends_with_one_line(tmp_path, capsys, monkeypatch):
    """Every row's target missing: exit 2, one stderr line naming the column and the fix."""
    monkeypatch.setattr("sys.argv", ["01_lesson.py"])
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,\n2,\n")
    with pytest.raises(SystemExit) as done:
        loading.load_table(Settings("01_lesson", data="diabetes", csv=bad, target="y"), "regression")
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'y'" in err


def test_class_labels_number_any_classes_from_0():
    """Labels 5 and 9 become 0 and 1, in sorted order, with the original values returned."""
    labels, classes = loading.class_labels(pd.Series([9, 5, 9, 5], name="digit"))
    np.testing.assert_array_equal(labels, [1, 0, 1, 0])
    np.testing.assert_array_equal(classes, [5, 9])


def test_class_labels_refuse_a_number_to_predict(capsys, monkeypatch):
    """Fractional values: one line pointing to the regression lesson, exit 2."""
    monkeypatch.setattr("sys.argv", ["02_lesson.py"])
    with pytest.raises(SystemExit):
        loading.class_labels(pd.Series([0.5, 1.5, 0.5], name="price"))
    assert "fractional values" in capsys.readouterr().err
