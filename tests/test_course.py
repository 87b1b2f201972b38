"""The course page: built from every recipe's quick run, checked in headless Chromium as a reader sees it."""

import html
import io
import re
import shutil

import cookbook.course
from cookbook import curriculum

import numpy as np
import pytest
from _browser import chromium_or_skip, view


@pytest.fixture(scope="module")
def page(quick_run, tmp_path_factory):
    """index.html over the outputs of every recipe's shared --quick run (what `tour --quick` writes)."""
    recipes = curriculum.list_recipes()
    out = tmp_path_factory.mktemp("course")
    for recipe in recipes:
        recipe_out = quick_run(recipe.name)
        for path in recipe_out.iterdir():
            shutil.copy(path, out / path.name)
    statuses = {recipe.name: "ok" for recipe in recipes}
    path = cookbook.course.write_course_page(out, recipes, statuses, cookbook.course.default_settings(True, 0))
    return path, recipes


@pytest.mark.slow
def test_page_has_every_lesson_with_its_code_and_remember_points(page):
    """One section per lesson, in order, with highlighted code and the run's 'What to remember'."""
    path, recipes = page
    text = path.read_text(encoding="utf-8")
    positions = [text.find(f'id="lesson-{r.number:02d}"') for r in recipes]
    assert all(p > 0 for p in positions) and positions == sorted(positions)
    assert text.count('class="remember"') == len(recipes)
    visible = html.unescape(re.sub(r"<[^>]+>", "", text))  # the text a reader sees, highlighting removed
    assert "model.fit(" in visible and "apply_gradients(" in visible
    assert "mode: quick" in visible and "Keras: " in visible
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text, "nothing from the network"


@pytest.mark.slow
def test_page_opens_in_chromium_with_every_image_and_no_error(page):
    """From file://: every image decodes, each lesson shows a figure and a table, no console error."""
    executable = chromium_or_skip()
    path, recipes = page
    seen = view(path.as_uri(), executable)
    assert seen.errors == []
    assert seen.images and all(width > 0 for _, width in seen.images), [s for s, w in seen.images if not w]
    assert len(seen.lessons) == len(recipes)
    for lesson in seen.lessons:
        assert lesson["images"] >= 1 and lesson["tables"] >= 1 and not lesson["failed"], lesson
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(seen.screenshot)).convert("L"))
    assert pixels.std() > 10, "the screenshot is not blank"


def test_a_failed_lesson_is_announced_in_its_place(tmp_path):
    """A lesson whose run failed gets a visible notice instead of silently missing."""
    recipes = curriculum.list_recipes()[:2]
    statuses = {recipes[0].name: "ok", recipes[1].name: "failed: RuntimeError: boom"}
    path = cookbook.course.write_course_page(tmp_path, recipes, statuses, {"mode": "quick"})
    text = path.read_text(encoding="utf-8")
    failed_at = text.find("This lesson failed during the tour")
    assert failed_at > text.find(f'id="lesson-{recipes[1].number:02d}"') > 0
    assert "RuntimeError: boom" in text and text.count("This lesson failed") == 1
