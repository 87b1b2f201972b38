"""cookbook.claims: records written as JSON and Markdown, read back, and refused when keys repeat."""

import json
import math

from cookbook import claims
from cookbook.claims import Claim, Verdict, verdict_of
from cookbook.errors import CookbookError
from cookbook.settings import Settings

import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run


def _claim(key="a", verdict=Verdict.HOLDS, **numbers):
    return Claim(key, "the note's statement", verdict, numbers or {"x": 1.5}, f"Conclusion {key}: x was 1.5.")


def test_remember_writes_json_and_markdown_that_load_back(tmp_path, capsys):
    """Records round-trip through <lesson>_claims.json; the points are printed and saved as Markdown."""
    settings = Settings("01_lesson", out=tmp_path)
    written = [_claim("a"), _claim("b", Verdict.FAILS, y=2, z=None)]
    claims.remember(written, settings)
    assert claims.load(tmp_path / "01_lesson_claims.json") == written
    markdown = (tmp_path / "01_lesson_remember.md").read_text()
    assert markdown.startswith("## What to remember") and markdown.count("\n- ") == 2
    assert "fails: the note's statement" in capsys.readouterr().out


def test_a_nan_or_infinite_number_is_written_as_null(tmp_path):
    """JSON has no NaN: a number the run could not measure is null, and the file stays strict JSON."""
    claims.remember([_claim(loss=math.nan, ratio=math.inf, count=3)], Settings("01_lesson", out=tmp_path))
    data = json.loads((tmp_path / "01_lesson_claims.json").read_text())
    assert data[0]["numbers"] == {"loss": None, "ratio": None, "count": 3}
    assert data[0]["verdict"] == "holds"


def test_repeated_keys_are_refused_before_anything_is_written(tmp_path):
    """Tests find claims by key, so a lesson's keys must be unique."""
    with pytest.raises(CookbookError, match="repeated: a"):
        claims.remember([_claim("a"), _claim("a")], Settings("01_lesson", out=tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_verdict_of_and_by_key():
    """verdict_of maps a measured comparison to a verdict; by_key indexes records."""
    assert (verdict_of(True), verdict_of(False), verdict_of(False, partly=True)) == (
        Verdict.HOLDS,
        Verdict.FAILS,
        Verdict.PARTLY,
    )
    assert claims.by_key([_claim("a"), _claim("b")])["b"].key == "b"
    assert Verdict("not measured") is Verdict.NOT_MEASURED
