"""The course site: a page per lesson, each cell's output under it, built by Sphinx from the tour's run.

``python -m cookbook tour`` runs every lesson with ``cookbook.recorder``,
which leaves ``<out>/<lesson>.ipynb``: the lesson's cells with what each one
printed, showed and drew in that run. This module turns those notebooks into
a site with `Sphinx <https://www.sphinx-doc.org>`_, `MyST-NB
<https://myst-nb.readthedocs.io>`_ (notebook pages, outputs as stored) and
the `Furo <https://pradyunsg.me/furo/>`_ theme (sidebar, previous/next,
heading anchors, phone layout):

- ``<out>/index.html``: the course's parts, each lesson a card with a
  thumbnail of its first figure, as the scikit-learn gallery does;
- ``<out>/<lesson>.html``: the lesson's page, with links to download its
  ``.py`` file and its ``.ipynb`` notebook (whose first cell installs the
  cookbook, as Colab needs), and a notice if it failed or was skipped.

Formulas become MathML when the page is built (``cookbook.sphinx_mathml``);
figures are the PNG files beside the pages. Nothing is loaded from the
network. ``python -m cookbook site --out D`` rebuilds the site from the
notebooks and ``tour.json`` a tour left in ``D``, without running a lesson.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import io
import json
import os
import pathlib
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cookbook.errors import CookbookError, SiteError
from cookbook.parts import part_of

if TYPE_CHECKING:  # hints only: curriculum imports Keras
    from cookbook.curriculum import Recipe

__all__ = ["Site", "SiteError", "build_site", "read_tour", "tour_settings", "write_tour"]

TOUR_FILE = "tour.json"  # what the tour ran: settings, and each lesson's status, cause, fix and seconds
THUMBNAILS = "_thumbnails"  # the index's pictures, under the output folder
THUMBNAIL_WIDTH = 400  # pixels, at most, either way: twice a card's width, sharp on a phone
STATIC = pathlib.Path(__file__).resolve().parent / "site_static"


@dataclasses.dataclass(frozen=True)
class Site:
    """A built site: its entry page, how long the build took, and what Sphinx warned about."""

    index: pathlib.Path
    seconds: float
    warnings: list[str]


def tour_settings(quick: bool, seed: int) -> dict[str, object]:
    """What the index says of the run: mode, seed, Keras/backend/TensorFlow versions and the date."""
    import keras

    settings: dict[str, object] = {
        "mode": "quick" if quick else "full",
        "seed": seed,
        "Keras": keras.__version__,
        "backend": keras.backend.backend(),
    }
    try:
        import tensorflow as tf

        settings["TensorFlow"] = tf.__version__
    except ImportError:
        pass
    settings["run"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return settings


def write_tour(
    out: str | os.PathLike[str], settings: Mapping[str, object], lessons: Sequence[Mapping]
) -> dict[str, Any]:
    """Write ``<out>/tour.json``: the run's settings and one ``{recipe, status, cause, fix, seconds, argv}`` per
    lesson. Returns what ``read_tour`` will read back from it."""
    text = json.dumps({"settings": dict(settings), "lessons": [dict(lesson) for lesson in lessons]}, indent=2)
    (pathlib.Path(out) / TOUR_FILE).write_text(text + "\n", encoding="utf-8")
    return json.loads(text)


def read_tour(out: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``tour.json`` a tour wrote in ``out``.

    Raises:
        SiteError: there is none (no tour ran there), or it cannot be read.
    """
    path = pathlib.Path(out) / TOUR_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SiteError(
            f"no tour has run in {out} ({path.name} is missing); run `python -m cookbook tour --out {out}` first"
        ) from None
    except (OSError, ValueError) as exc:
        raise SiteError(f"{path} cannot be read ({exc}); run the tour again to rewrite it") from None


def build_site(out: str | os.PathLike[str], recipes: Sequence[Recipe], tour: Mapping[str, Any]) -> Site:
    """Build the site into ``out`` from its lessons' notebooks; ``tour`` is what ``read_tour`` returns.

    A lesson with no notebook there (skipped, or not run) gets a page of its
    cells without outputs, saying so.

    Raises:
        SiteError: Sphinx stopped with an error.
    """
    from sphinx.application import Sphinx
    from sphinx.errors import SphinxError
    from sphinx.util.console import nocolor

    nocolor()  # warnings go to site.log and the tour's output as plain text

    out = pathlib.Path(out)
    lessons = {lesson["recipe"]: lesson for lesson in tour.get("lessons", [])}
    tick = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cookbook-site-") as scratch:
        source, doctrees = pathlib.Path(scratch, "source"), pathlib.Path(scratch, "doctrees")
        (source / "downloads").mkdir(parents=True)
        figures = {
            recipe.name: _write_lesson_page(source, out, recipe, lessons.get(recipe.name, {})) for recipe in recipes
        }
        index = _index(out, recipes, lessons, figures, tour.get("settings", {}))
        (source / "index.md").write_text(index, encoding="utf-8")
        warnings = io.StringIO()
        try:
            app = Sphinx(
                str(source),
                None,
                str(out),
                str(doctrees),
                "html",
                confoverrides=_config(),
                status=None,
                warning=warnings,
                freshenv=True,
            )
            app.build(force_all=True)
        except SphinxError as exc:
            raise SiteError(f"Sphinx could not build the site: {exc}") from None
    for stale in (".buildinfo", "objects.inv"):  # Sphinx's bookkeeping for cross-project links: not the course's
        (out / stale).unlink(missing_ok=True)
    lines = [line for line in warnings.getvalue().splitlines() if line.strip()]
    (out / "site.log").write_text("\n".join(lines) + "\n" if lines else "", encoding="utf-8")
    return Site(out / "index.html", time.perf_counter() - tick, lines)


def _config() -> dict[str, Any]:
    return {
        "project": "keras-cookbook",
        "extensions": ["myst_nb", "cookbook.sphinx_mathml"],
        "html_math_renderer": "mathml",
        "smartquotes": False,  # quotes in prose and outputs stay the ASCII ones the code and the lessons use
        "html_theme": "furo",
        "html_title": "keras-cookbook",
        "html_static_path": [str(STATIC)],
        "html_css_files": ["cookbook.css"],
        "html_copy_source": False,
        "html_show_sourcelink": False,
        "html_last_updated_fmt": None,
        "html_theme_options": {"top_of_page_buttons": [], "navigation_with_keys": True},
        "exclude_patterns": ["downloads/**"],
        # The notebooks hold the tour's outputs: shown as they are, never run again.
        "nb_execution_mode": "off",
        "nb_merge_streams": True,
        "nb_render_markdown_format": "myst",
        "myst_enable_extensions": ["dollarmath"],
        "myst_heading_anchors": 3,
        # app.add_*: a second build in one process (the tests) re-registers the extensions' nodes, harmlessly.
        "suppress_warnings": [
            "myst.header",
            "misc.highlighting_failure",
            "app.add_node",
            "app.add_directive",
            "app.add_role",
        ],
    }


def _write_lesson_page(source, out, recipe, lesson):
    """Write ``<source>/<lesson>.ipynb`` (the page) and its downloads: the script, and the notebook if it is a
    lesson. Returns the file name of the first figure the run drew (the index's thumbnail), or None."""
    from cookbook import notebooks

    import nbformat

    status = lesson.get("status", "not run")
    recorded = out / f"{recipe.name}.ipynb"
    ran = not status.startswith("skipped") and recorded.exists()
    shutil.copy(recipe.path, source / "downloads" / recipe.path.name)
    try:
        nbformat.write(notebooks.download_notebook(recipe), source / "downloads" / f"{recipe.name}.ipynb")
        has_notebook = True
    except CookbookError:  # not in the lesson shape (cookbook.cells): the script is its only download
        has_notebook = False
    if ran:
        page = nbformat.read(recorded, as_version=4)
    elif has_notebook:
        page = notebooks.recipe_notebook(recipe)  # the lesson's cells, nothing run
    else:
        page = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {recipe.title}")])
    summary = page.cells[0].source.partition("\n")[2].strip()  # the header's text under its title
    notices = _notices(recipe, lesson, status, ran, has_notebook)
    page.cells[0] = nbformat.v4.new_markdown_cell(f"# {_title(recipe)}\n\n{notices}{summary}")
    nbformat.write(page, source / f"{recipe.name}.ipynb")
    return _first_figure(page) if ran else None


def _title(recipe):
    """``01. Regression with mean squared error on the Diabetes data``: number, then the header's first line."""
    return f"{recipe.number:02d}. {recipe.title.rstrip('.')}"


def _notices(recipe, lesson, status, ran, has_notebook):
    """The line of downloads and what ran, and a notice when the lesson failed or did not run."""
    argv = " ".join(lesson.get("argv", []))
    seconds = lesson.get("seconds")
    ran_line = (
        f"This page is the run of `python {recipe.path.name} {argv}`".rstrip()
        + (f" ({seconds:.0f} s)" if isinstance(seconds, (int, float)) else "")
        + ": each cell's output is shown under it."
        if ran
        else "This page shows the lesson's cells; the tour did not run it."
    )
    downloads = f"Download: {{download}}`{recipe.path.name} <downloads/{recipe.path.name}>` (the script)"
    if has_notebook:
        downloads += (
            f" · {{download}}`{recipe.name}.ipynb <downloads/{recipe.name}.ipynb>` (the notebook; its first cell "
            "installs the cookbook in Colab)"
        )
    downloads += "\n\n"
    notice = ""
    if status.startswith("skipped"):
        notice = (
            f"```{{warning}}\nThe tour skipped this lesson: {status.removeprefix('skipped: ')}. "
            "Run the tour with `KERAS_BACKEND=tensorflow` to see its outputs.\n```\n\n"
        )
    elif status.startswith("failed"):
        fix = lesson.get("fix") or ""
        notice = (
            f"```{{error}}\nThis lesson failed during the tour: {lesson.get('cause') or status}.\n\n"
            + (f"Fix: `{fix}`\n\n" if fix else "")
            + f"The outputs below stop at the cell that failed; all it printed is in `{recipe.name}.log`.\n```\n\n"
        )
    elif not ran:
        notice = "```{note}\nNo run of this lesson was found in this folder.\n```\n\n"
    return f"{downloads}{ran_line}\n\n{notice}"


def _index(out, recipes, lessons, figures, settings):
    """``index.md``: the course's parts, each a grid of lesson cards, and the (hidden) table of contents."""
    settings_text = " · ".join(f"{k}: {v}" for k, v in settings.items())
    lines = [
        "# Loss functions and optimizers in Keras 3",
        "",
        "A course in runnable lessons: each page is a lesson's code, run by `python -m cookbook tour`, with what "
        "every cell printed, showed and drew under it. Every number on these pages was measured by that run.",
        "",
        f'<p class="run-settings">{html.escape(settings_text)}</p>' if settings_text else "",
        "",
    ]
    groups: list[tuple[str, list]] = []
    for recipe in recipes:
        part = part_of(recipe.number)
        title = part.title if part else "More lessons"
        if not groups or groups[-1][0] != title:
            groups.append((title, []))
        groups[-1][1].append(recipe)
    for title, members in groups:
        lines += [f"## {title}", "", '<div class="lesson-cards">']
        lines += [_card(out, recipe, lessons.get(recipe.name, {}), figures.get(recipe.name)) for recipe in members]
        lines += ["</div>", "", "```{toctree}", ":hidden:", f":caption: {title}", ""]
        lines += [recipe.name for recipe in members]
        lines += ["```", ""]
    return "\n".join(lines)


def _card(out, recipe, lesson, figure):
    status = lesson.get("status", "not run")
    mark = "" if status == "ok" else f'<span class="mark">{html.escape(status.partition(":")[0])}</span>'
    thumbnail = _thumbnail(out, recipe, figure)
    picture = (
        f'<img src="{THUMBNAILS}/{thumbnail.name}" alt="" loading="lazy">'
        if thumbnail
        else '<span class="no-figure">no figure</span>'
    )
    return (
        f'<a class="lesson-card" href="{recipe.name}.html">{picture}'
        f'<span class="card-title">{html.escape(_title(recipe))}</span>{mark}</a>'
    )


def _thumbnail(out, recipe, figure):
    """A small copy of the lesson's first figure (``figure``, a PNG in ``out``), or None."""
    if figure is None or not (out / figure).exists():
        return None
    from PIL import Image

    target = out / THUMBNAILS / f"{recipe.name}.png"
    target.parent.mkdir(exist_ok=True)
    with Image.open(out / figure) as picture:
        picture.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH))  # in place, keeping the aspect ratio
        picture.save(target)
    return target


def _first_figure(page):
    """The file name of the first figure a recorded notebook shows (``cookbook.outputs.save_figure``), or None."""
    for cell in page.cells:
        for output in cell.get("outputs", []):
            figure = output.get("metadata", {}).get("cookbook", {}).get("figure")
            if figure:
                return figure
    return None
