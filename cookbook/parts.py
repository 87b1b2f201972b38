"""The course's parts: which lessons belong together, in order (read by the course site and the README)."""

from __future__ import annotations

import dataclasses

__all__ = ["PARTS", "Part", "part_of"]


@dataclasses.dataclass(frozen=True)
class Part:
    """A part of the course: the lessons numbered ``first`` to ``last``."""

    title: str
    first: int
    last: int


# The course's parts, in order. A lesson belongs to the part whose range holds its number (every lesson of
# the checkout has one: tests/test_curriculum.py).
PARTS = (
    Part("Losses: output layer, loss and labels", 1, 6),
    Part("Gradient descent and optimizers", 7, 14),
    Part("Writing your own optimizer", 15, 16),
    Part("Scaling out", 17, 20),
)


def part_of(number: int) -> Part | None:
    """The part that lesson ``number`` belongs to, or ``None`` (a lesson outside every part)."""
    return next((part for part in PARTS if part.first <= number <= part.last), None)
