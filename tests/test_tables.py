"""cookbook.tables: a user's table as it comes (text classes, categorical columns, missing values)."""

import sys

import cookbook  # noqa: F401  (first: TensorFlow imported quietly)
from cookbook import curriculum, processes, tables
from cookbook.errors import DataError

import numpy as np
import pandas as pd
import pytest


def penguins(n=120, seed=1):
    """A penguins-style table: text classes, two text features, an integer code, a few missing cells."""
    rng = np.random.default_rng(seed)
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], n)
    offset = {"Adelie": 0.0, "Chinstrap": 8.0, "Gentoo": 4.0}
    frame = pd.DataFrame(
        {
            "species": species,
            "island": np.where(species == "Gentoo", "Biscoe", rng.choice(["Dream", "Torgersen"], n)),
            "bill_length_mm": [39 + offset[s] + rng.normal(0, 1.5) for s in species],
            "body_mass_g": [3700 + 300 * offset[s] + rng.normal(0, 200) for s in species],
            "clutch": rng.integers(1, 5, n),  # a whole-number code with 4 values: categorical
            "sex": rng.choice(["male", "female"], n),
        }
    )
    frame.loc[[3, 7], "bill_length_mm"] = np.nan
    frame.loc[[5], "sex"] = np.nan
    frame.loc[[11], "species"] = np.nan
    return frame


def test_text_classes_are_numbered_in_sorted_order_and_said():
    """'Adelie' < 'Chinstrap' < 'Gentoo' become 0, 1, 2; the note and class_table say so."""
    table = tables.prepare(penguins(), "species", "multiclass", source="p.csv")
    assert table.classes == ("Adelie", "Chinstrap", "Gentoo")
    assert any("0 = 'Adelie', 1 = 'Chinstrap', 2 = 'Gentoo'" in note for note in table.notes)
    assert table.class_table()["rows"].sum() == len(table.target)


def test_binary_positive_class_is_chosen_by_name():
    """--positive female makes 'female' class 1; without it the last name sorted ('male') is."""
    frame = penguins()
    assert tables.prepare(frame, "sex", "binary").classes == ("female", "male")
    table = tables.prepare(frame, "sex", "binary", positive="female")
    assert table.classes == ("male", "female")
    kept = frame.dropna(subset=["sex"]).dropna()
    np.testing.assert_array_equal(table.target, (kept["sex"] == "female").to_numpy().astype(int))
    with pytest.raises(DataError, match="--positive 'penguin' is not a class of 'sex'"):
        tables.prepare(frame, "sex", "binary", positive="penguin")


def test_columns_get_their_kinds_text_and_few_whole_numbers_are_categorical():
    """Text columns and a 4-valued integer code are categorical; measurements are numeric."""
    table = tables.prepare(penguins(), "species", "multiclass")
    assert table.kinds == {
        "island": "categorical",
        "bill_length_mm": "numeric",
        "body_mass_g": "numeric",
        "clutch": "categorical",
        "sex": "categorical",
    }


def test_missing_target_rows_and_incomplete_rows_are_dropped_and_counted():
    """1 row without a target, then 3 rows with a missing feature: dropped, and the notes give the counts."""
    frame = penguins()
    table = tables.prepare(frame, "species", "multiclass")
    assert len(table.features) == len(frame) - 4
    assert any("dropped 1 row(s) with no 'species'" in note for note in table.notes)
    assert any("dropped 3 of 119 row(s)" in note and "'bill_length_mm' (2)" in note for note in table.notes)


def test_fill_rule_uses_the_training_rows_only():
    """--missing fill: numeric cells get the training median, text cells the training mode, test rows too."""
    table = tables.prepare(penguins(), "species", "multiclass", missing="fill")
    assert len(table.features) == 119 and table.missing == {"bill_length_mm": 2, "sex": 1}
    parts = tables.split(table, seed=0)
    raw = table.features
    assert not parts.train.isna().any().any() and not parts.test.isna().any().any()
    assert "filled missing cells" in parts.note
    train_idx, _ = cookbook.datasets.split_indices(len(raw), table.target, seed=0)
    median = raw["bill_length_mm"].iloc[train_idx].median()
    assert f"'bill_length_mm' with {median!r}" in parts.note


def test_encoder_is_normalization_and_one_hot_adapted_on_training_rows():
    """Numeric columns: (x - mean) / std of the training rows; categorical: one 0/1 column per value + OOV."""
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "colour": ["red", "blue", "red", "red"]})
    test = pd.DataFrame({"x": [2.5], "colour": ["green"]})  # a colour never seen in training
    encode = tables.fit_encoder(train, {"x": "numeric", "colour": "categorical"})
    encoded = encode(train)
    np.testing.assert_allclose(encoded[:, 0], (train["x"] - 2.5) / np.std(train["x"]), rtol=1e-6)
    assert encoded.shape == (4, 1 + 3)  # [UNK], red, blue
    assert (encoded[:, 1:].sum(axis=1) == 1).all()
    unseen = encode(test)
    assert unseen[0, 1] == 1.0 and unseen[0, 2:].sum() == 0, "an unseen value lands in the OOV column"


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda f: f.assign(tag=[f"id-{i}" for i in range(len(f))]),
            r"column 'tag' has a different value in every "
            r"row.*identifier.*--drop tag",
        ),
        (
            lambda f: f.assign(notes=[f"note {i % 60}" for i in range(len(f))]),
            r"column 'notes' has 60 distinct text "
            r"values.*free text.*--drop notes",
        ),
        (
            lambda f: f.assign(depth=[str(v) for v in range(len(f) - 2)] + ["n/a", "17,5"]),
            r"column 'depth' is numbers except 2 entries \(row 120: 'n/a', row 121: '17,5'",
        ),
        (lambda f: f.assign(species="Adelie"), r"target 'species' has a single class \('Adelie'\)"),
        (lambda f: f.assign(bill_length_mm=np.nan), r"only 0 complete row\(s\) remain.*--missing fill"),
    ],
)
def test_unusable_tables_are_refused_naming_the_column_and_the_fix(change, message):
    """Identifier, free text, stray entries, one class, every row incomplete: DataError with the fix."""
    with pytest.raises(DataError, match=message) as info:
        tables.prepare(change(penguins()), "species", "multiclass", source="p.csv")
    assert isinstance(info.value, ValueError)


def test_dropped_column_is_left_out_and_noted():
    """--drop tag removes an identifier the table would otherwise refuse."""
    frame = penguins().assign(tag=[f"id-{i}" for i in range(120)])
    table = tables.prepare(frame, "species", "multiclass", drop=("tag",))
    assert "tag" not in table.features and any("--drop" in note for note in table.notes)


def test_bundled_data_keeps_its_split_and_numbers():
    """The bundled path gives the rows split_and_standardize picks, and the same standardized features."""
    X, y = cookbook.load_dataset("breast_cancer")
    table = tables.prepare(X.assign(malignant=y), "malignant", "binary", kinds={c: "numeric" for c in X.columns})
    parts = tables.split(table, seed=0, stratify=True)
    encoded = parts.encoded(tables.fit_encoder(parts.train, table.kinds))
    old = cookbook.split_and_standardize(X, y, seed=0, stratify=True)
    np.testing.assert_array_equal(encoded.y_test, old.y_test)
    np.testing.assert_allclose(encoded.X_test, old.X_test, rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def penguins_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "penguins.csv"
    penguins(n=160).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "recipe, target, extra",
    [
        ("01", "body_mass_g", []),
        ("02", "species", []),
        ("03", "sex", ["--positive", "female"]),
    ],
)
@pytest.mark.slow
def test_lessons_train_on_the_table_as_it_comes(recipe, target, extra, penguins_csv, tmp_path, capsys):
    """Regression, multiclass and binary lessons run on the raw table, printing what they encoded and dropped."""
    chosen = curriculum.resolve(curriculum.list_recipes(), recipe)
    curriculum.run(chosen, ["--quick", "--csv", str(penguins_csv), "--target", target, "--out", str(tmp_path), *extra])
    table = pd.read_csv(tmp_path / f"{chosen.name}.csv")
    printed = capsys.readouterr().out
    assert "one-hot encoded categorical column(s)" in printed and "dropped" in printed
    assert len(table) > 0
    if recipe == "02":
        assert (table["test accuracy"] > table["majority-class accuracy"]).all()
        assert "Adelie" in pd.read_csv(tmp_path / f"{chosen.name}_per_class.csv")["class"].tolist()
    if recipe == "03":
        assert "class 1 = sex == 'female'" in printed
        assert (table["test accuracy"] >= table["majority-class accuracy"] - 0.05).all()


@pytest.mark.slow
def test_a_refused_table_ends_the_script_with_one_line(penguins_csv, tmp_path):
    """A stray text entry in a numeric column: exit 2, one stderr line naming the column, no traceback."""
    bad = tmp_path / "bad.csv"
    frame = penguins(n=160)
    frame["body_mass_g"] = frame["body_mass_g"].round().astype(int).astype(str)
    frame.loc[42, "body_mass_g"] = "heavy"
    frame.to_csv(bad, index=False)
    recipe = curriculum.resolve(curriculum.list_recipes(), "02").path
    command = [sys.executable, str(recipe), "--quick", "--csv", str(bad), "--target", "species"]
    result = processes.run([*command, "--out", str(tmp_path / "out")], timeout=300, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'body_mass_g'" in lines[0] and "row 44: 'heavy'" in lines[0], result.stderr
    assert not (tmp_path / "out").exists()
