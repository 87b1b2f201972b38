"""cookbook.site: the course site, built from the lessons' recorded runs, and checked as a reader sees it.

The fast tests build a site of two small lessons written here. The slow ones
build the real site from every lesson's shared ``--quick`` run (what
``cookbook tour --quick`` records) and open each page in headless Chromium at
a desktop and a phone width.
"""

import html
import io
import re
import shutil

from cookbook import cli, curriculum, site
from cookbook.sphinx_mathml import to_mathml

import nbformat
import numpy as np
import pytest
from _browser import DESKTOP, PHONE, chromium_or_skip, view_pages

RECIPES = curriculum.list_recipes()

LESSON = '''"""A small lesson: it prints, shows a table and a figure, and remembers.

Its summary.
"""

# %% [markdown]
# ## Settings
#
# A formula: $$w \\leftarrow w - \\eta\\, g$$

# %%
from cookbook import outputs
from cookbook.display import show, show_markdown
from cookbook.settings import from_command_line

import pandas as pd
from matplotlib.figure import Figure

settings = from_command_line(__doc__, "{name}", quick=False, seed=0, out="cookbook-out")
print("a line this lesson printed")

# %% [markdown]
# ## Results

# %%
show(pd.DataFrame({{"optimizer": ["SGD", "Adam"], "loss": [0.25, 0.125]}}), "Final loss")
figure = Figure()
figure.add_subplot().plot([1, 2, 3])
figure.suptitle("Loss per step")
outputs.save_figure(figure, settings, "curve")
show_markdown("- SGD ended higher.", "What to remember")
{tail}
'''


def _lessons(tmp_path, tails):
    """A recipes folder of small lessons, the nth ending with ``tails[n]``."""
    folder = tmp_path / "recipes"
    folder.mkdir()
    for number, tail in enumerate(tails, 1):
        name = f"{number:02d}_small_{number}"
        (folder / f"{name}.py").write_text(LESSON.format(name=name, tail=tail), encoding="utf-8")
    return curriculum.list_recipes(folder)


def _tour(out, recipes, statuses):
    site.write_tour(
        out,
        {"mode": "quick", "seed": 0},
        [
            {"recipe": r.name, "status": s, "cause": s.partition(": ")[2], "fix": "python fix.py", "seconds": 1.5}
            | {"argv": ["--quick"]}
            for r, s in zip(recipes, statuses)
        ],
    )
    return site.read_tour(out)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Three small lessons: one ran, one failed in its last cell, one skipped; and the site built from them."""
    tmp = tmp_path_factory.mktemp("small")
    recipes = _lessons(tmp, ["", "raise RuntimeError('boom')", ""])
    out = tmp / "out"
    out.mkdir()
    curriculum.run(recipes[0], ["--out", str(out)], notebook=out / f"{recipes[0].name}.ipynb")
    with pytest.raises(RuntimeError, match="boom"):
        curriculum.run(recipes[1], ["--out", str(out)], notebook=out / f"{recipes[1].name}.ipynb")
    # The skipped lesson finds a notebook an earlier tour left: neither its page nor its card may show it.
    shutil.copy(out / f"{recipes[0].name}.ipynb", out / f"{recipes[2].name}.ipynb")
    tour = _tour(out, recipes, ["ok", "failed: RuntimeError: boom", "skipped: needs TensorFlow (tf.distribute)"])
    return out, recipes, site.build_site(out, recipes, tour)


def _visible(path):
    """The text of an HTML file, tags removed (highlighted code is a span a token), entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def test_a_lesson_page_shows_each_cells_output_under_it(small):
    """The printed line, the table (as a table, numbers right-aligned) and the captioned figure follow their cells."""
    out, recipes, built = small
    page = (out / f"{recipes[0].name}.html").read_text(encoding="utf-8")
    text = _visible(out / f"{recipes[0].name}.html")
    printing = text.find('print("a line this lesson printed")')
    printed = text.find("a line this lesson printed", printing + 10)
    showing = text.find("show(pd.DataFrame(")
    table, figure = text.find("Final loss", showing + 20), text.find("Loss per step", showing + 20)
    assert 0 < printing < printed < showing < table < figure, "each output under its cell"
    assert '<td class="num">0.125</td>' in page and "<td>Adam</td>" in page
    assert f'<img src="{recipes[0].name}_curve.png"' in page and "Open full size" in page
    assert "<math" in page and "$$" not in page, "the formula is MathML"
    assert built.warnings == [], built.warnings


def test_the_index_lists_every_lesson_with_a_thumbnail_of_its_first_figure(small):
    """Cards in curriculum order, each linking its page; a lesson that drew gets its thumbnail."""
    out, recipes, _ = small
    index = (out / "index.html").read_text(encoding="utf-8")
    links = [index.find(f'class="lesson-card" href="{r.name}.html"') for r in recipes]
    assert all(at > 0 for at in links) and links == sorted(links)
    assert f'src="{site.THUMBNAILS}/{recipes[0].name}.png"' in index
    assert (out / site.THUMBNAILS / f"{recipes[0].name}.png").stat().st_size > 0
    assert "mode: quick" in _visible(out / "index.html")


def test_a_failed_lesson_says_so_with_its_fix_and_keeps_what_ran(small):
    """The failed lesson's page names the cause and the fix above its outputs, and shows the error under its cell."""
    out, recipes, _ = small
    text = " ".join(_visible(out / f"{recipes[1].name}.html").split())
    assert "This lesson failed during the tour: RuntimeError: boom" in text and "Fix: python fix.py" in text
    assert "a line this lesson printed" in text and "RuntimeError" in text.split("Final loss", 1)[1]


def test_a_skipped_lesson_gets_a_page_of_its_cells_saying_why(small):
    """No run: the page holds the lesson's code, no outputs, and the reason."""
    out, recipes, _ = small
    text = " ".join(_visible(out / f"{recipes[2].name}.html").split())
    assert "The tour skipped this lesson: needs TensorFlow (tf.distribute)" in text
    assert "show(pd.DataFrame(" in text and text.count("a line this lesson printed") == 1, "in its code only"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f"{site.THUMBNAILS}/{recipes[2].name}.png" not in index, "no thumbnail from an earlier run"


def test_each_page_links_its_script_and_a_notebook_that_installs_the_cookbook_first(small):
    """The downloads exist; the notebook's first code cell installs the cookbook where it is missing."""
    out, recipes, _ = small
    page = (out / f"{recipes[0].name}.html").read_text(encoding="utf-8")
    for suffix in (".py", ".ipynb"):
        href = re.search(rf'href="(_downloads/[^"]+/{recipes[0].name}{re.escape(suffix)})"', page)
        assert href and (out / href.group(1)).exists(), suffix
    notebook = nbformat.read(next(out.glob(f"_downloads/*/{recipes[0].name}.ipynb")), as_version=4)
    first = next(c for c in notebook.cells if c.cell_type == "code")
    assert 'find_spec("cookbook") is None' in first.source and '"pip", "install"' in first.source
    compile(first.source, "install", "exec")


def test_site_rebuilds_from_the_tours_folder_without_running_a_lesson(small, tmp_path, monkeypatch, capsys):
    """`cookbook site --out D` rebuilds the pages from D's notebooks and tour.json; no lesson runs."""
    out, recipes, _ = small
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "index.html").unlink()
    monkeypatch.setattr(curriculum, "run", lambda *a, **k: pytest.fail("a lesson ran"))
    folder = str(recipes[0].path.parent)
    assert cli.main(["--recipes", folder, "site", "--out", str(copy)]) == 0
    assert (copy / "index.html").exists() and "The course site:" in capsys.readouterr().out


def test_site_without_a_tour_is_one_line_and_exit_2(tmp_path, capsys):
    """A folder no tour ran in: the error says to run the tour there first."""
    assert cli.main(["site", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no tour has run in" in err and "cookbook tour --out" in err


def test_every_formula_of_every_lesson_renders_as_mathml():
    """Each $$...$$ block and $...$ span in the lessons' prose converts to MathML (else the page shows LaTeX)."""
    from cookbook.cells import lesson_cells

    count = 0
    for recipe in RECIPES:
        for cell in lesson_cells(recipe.path.read_text(encoding="utf-8"), recipe.path.name):
            if cell.kind != "markdown":
                continue
            text = re.sub(r"```.*?```", "", cell.text, flags=re.S)
            for block in re.findall(r"\$\$(.+?)\$\$", text, flags=re.S):
                assert "<math" in to_mathml(block, block=True), (recipe.name, block)
                count += 1
            for span in re.findall(r"(?<!\$)\$([^$\n]+)\$(?!\$)", re.sub(r"\$\$.+?\$\$", "", text, flags=re.S)):
                assert "<math" in to_mathml(span), (recipe.name, span)
                count += 1
    assert count >= 15, "the lessons' update rules are formulas"


# The real site, from every lesson's quick run.


@pytest.fixture(scope="module")
def course(quick_run, tmp_path_factory):
    """The site of every lesson's shared --quick run, as `cookbook tour --quick` builds it."""
    out = tmp_path_factory.mktemp("course")
    for recipe in RECIPES:
        for path in quick_run(recipe.name).iterdir():
            shutil.copy(path, out / path.name)
    tour = _tour(out, RECIPES, ["ok"] * len(RECIPES))
    return out, site.build_site(out, RECIPES, tour)


def _first_printed_line(notebook):
    """A line the lesson printed, as the page should show it: its first of at least 20 characters, else the
    title of the first table it showed (a lesson that only shows tables)."""
    outputs = [o for cell in nbformat.read(notebook, as_version=4).cells for o in cell.get("outputs", [])]
    for output in outputs:
        if output.output_type == "stream" and output.name == "stdout":
            for line in output.text.splitlines():
                if len(line.strip()) >= 20:
                    return " ".join(line.split())
    for output in outputs:
        if "text/html" in output.get("data", {}) and "table-title" in output.data["text/html"]:
            return output.data["text/plain"].strip().splitlines()[0]
    return None


@pytest.mark.slow
def test_the_course_has_a_page_per_lesson_in_order_linked_to_the_next(course):
    """Every lesson's page exists, the index links them in order, each links the next, Sphinx warned of nothing."""
    out, built = course
    assert built.warnings == [], built.warnings
    index = (out / "index.html").read_text(encoding="utf-8")
    links = [index.find(f'href="{r.name}.html"') for r in RECIPES]
    assert all(at > 0 for at in links) and links == sorted(links)
    for recipe, following in zip(RECIPES, RECIPES[1:]):
        page = (out / f"{recipe.name}.html").read_text(encoding="utf-8")
        assert re.search(rf'class="next-page" href="{following.name}.html"', page), recipe.name
    loaded = re.compile(r'<(?:script|img|link)[^>]+(?:src|href)="(?:https?:)?//')
    assert not [p.name for p in out.glob("*.html") if loaded.search(p.read_text(encoding="utf-8"))]


@pytest.mark.slow
def test_every_page_reads_well_in_chromium_on_a_desktop_and_a_phone(course):
    """Index and lesson pages at 1280 and 390 px: images decode, no network, no error, no sideways scroll,
    and each lesson's page shows a line that lesson printed."""
    executable = chromium_or_skip()
    out, _ = course
    pages = ["index", *[r.name for r in RECIPES]]
    views = view_pages([(out / f"{name}.html").as_uri() for name in pages], executable)
    assert len(views) == 2 * len(pages)
    for view in views:
        where = f"{view.url} at {view.width} px"
        assert view.errors == [], where
        assert view.requests == [], where
        assert view.images and all(width > 0 for _, width in view.images), (where, view.images)
        assert view.scroll_width <= view.width, f"{where} scrolls sideways ({view.scroll_width} px)"
    texts = {(v.url.rsplit("/", 1)[1].removesuffix(".html"), v.width): " ".join(v.text.split()) for v in views}
    for recipe in RECIPES:
        line = _first_printed_line(out / f"{recipe.name}.ipynb")
        assert line is not None, recipe.name
        for width in (DESKTOP[0], PHONE[0]):
            assert line in texts[recipe.name, width], (recipe.name, width, line)
    assert sum(1 for v in views if v.math) >= 4, "formulas are MathML on the lessons that have them"
    index = next(v for v in views if v.url.endswith("/index.html") and v.width == DESKTOP[0])
    assert sum(1 for src, _ in index.images if src.startswith(site.THUMBNAILS)) >= 12, "thumbnails"
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(index.screenshot)).convert("L"))
    assert pixels.std() > 10, "the index is not blank"


def test_tour_json_round_trips(tmp_path):
    """What write_tour writes, read_tour reads back."""
    written = site.write_tour(tmp_path, {"seed": 1}, [{"recipe": "01_x", "status": "ok"}])
    assert (
        site.read_tour(tmp_path)
        == written
        == {"settings": {"seed": 1}, "lessons": [{"recipe": "01_x", "status": "ok"}]}
    )
    (tmp_path / site.TOUR_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(site.SiteError, match="cannot be read"):
        site.read_tour(tmp_path)
