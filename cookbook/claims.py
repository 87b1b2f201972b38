"""Claims as data: what a lesson claims, the numbers its run measured, and a verdict.

A lesson ends with its points to remember. Each point is a ``Claim``: the
statement checked (often the study note's own words), the numbers the run
measured, a verdict from a small set, and the conclusion a learner takes
away, in words first and then the number. ``remember`` shows them and writes
them as ``<out>/<lesson>_claims.json`` (for tests and tools) and
``<lesson>_remember.md``::

    claims = [
        Claim(
            key="mse_punishes_large_errors",
            claim="MSE punishes one large error more than many small ones",
            verdict=Verdict.HOLDS,
            numbers={"mse_spread": 3.61, "mse_one_large": 10.9},
            conclusion="Use MSE when one large miss is worse than several small ones: ...",
        ),
    ]
    cookbook.claims.remember(claims, settings)

Tests look a claim up by its ``key`` and check its verdict and numbers,
never its wording.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import pathlib
from collections.abc import Mapping, Sequence

from cookbook import display
from cookbook.errors import CookbookError
from cookbook.outputs import output_path
from cookbook.settings import Settings

__all__ = ["Claim", "Verdict", "by_key", "load", "remember", "verdict_of"]


class Verdict(str, enum.Enum):
    """How the run answered a claim."""

    HOLDS = "holds"
    PARTLY = "partly"  # true under a qualifier the run states (a setting, a share of the runs)
    FAILS = "fails"  # the run contradicts it
    NOT_MEASURED = "not measured"  # this run could not tell (too few epochs under --quick, a missing input)


@dataclasses.dataclass(frozen=True)
class Claim:
    """One measured claim of a lesson.

    Attributes:
        key: a stable identifier (``"early_stopping_kept_the_best_epoch"``); tests find claims by it.
        claim: the statement checked, e.g. the study note's sentence.
        verdict: ``Verdict.HOLDS``, ``PARTLY``, ``FAILS`` or ``NOT_MEASURED``.
        numbers: the measured values the verdict rests on, by name.
        conclusion: what to remember, a conclusion in words first, then the number.
    """

    key: str
    claim: str
    verdict: Verdict
    numbers: Mapping[str, float | int | None]
    conclusion: str

    def to_dict(self) -> dict[str, object]:
        """The claim as JSON-ready data (a NaN or infinite number becomes ``None``)."""
        numbers = {name: _finite_or_none(value) for name, value in self.numbers.items()}
        return {
            "key": self.key,
            "claim": self.claim,
            "verdict": self.verdict.value,
            "numbers": numbers,
            "conclusion": self.conclusion,
        }


def _finite_or_none(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    value = float(value)
    return value if math.isfinite(value) else None


def verdict_of(holds: bool, *, partly: bool = False) -> Verdict:
    """``HOLDS`` if ``holds``, else ``PARTLY`` if ``partly``, else ``FAILS``."""
    if holds:
        return Verdict.HOLDS
    return Verdict.PARTLY if partly else Verdict.FAILS


def remember(claims: Sequence[Claim], settings: Settings, title: str = "What to remember") -> list[Claim]:
    """Show a lesson's claims as its points to remember, and write them as JSON and Markdown.

    Writes ``<out>/<lesson>_claims.json`` (a list of ``Claim.to_dict``) and
    ``<out>/<lesson>_remember.md``. Returns ``claims``.

    Raises:
        CookbookError: two claims share a key.
    """
    keys = [claim.key for claim in claims]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise CookbookError(f"claim keys must be unique in a lesson; repeated: {', '.join(repeated)}")
    points = "\n".join(f"- {claim.conclusion} *({claim.verdict.value}: {claim.claim})*" for claim in claims)
    display.show_markdown(points, title)
    output_path(settings, "claims", ".json").write_text(
        json.dumps([claim.to_dict() for claim in claims], indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    output_path(settings, "remember", ".md").write_text(f"## {title}\n\n{points}\n", encoding="utf-8")
    return list(claims)


def load(path: str | os.PathLike[str]) -> list[Claim]:
    """Read ``<lesson>_claims.json`` back as ``Claim`` records."""
    data = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    return [
        Claim(
            key=item["key"],
            claim=item["claim"],
            verdict=Verdict(item["verdict"]),
            numbers=item["numbers"],
            conclusion=item["conclusion"],
        )
        for item in data
    ]


def by_key(claims: Sequence[Claim]) -> dict[str, Claim]:
    """The claims by their ``key``."""
    return {claim.key: claim for claim in claims}
