"""A Sphinx extension: math rendered as MathML when the page is built, so it needs no script and no network.

Sphinx renders ``$...$`` and ``$$...$$`` with MathJax, loaded from a CDN;
the course site must work offline. Browsers display MathML themselves
(Chromium since 109, Firefox, Safari), and docutils converts LaTeX to MathML
(``docutils.utils.math.latex2mathml``, the converter behind its own
``math_output = "MathML"``), so this extension registers that converter as
Sphinx's HTML math renderer. A formula it cannot convert is shown as its LaTeX
source, with a build warning naming it.
"""

from __future__ import annotations

import html
from typing import Any

from docutils import nodes
from docutils.utils.math import MathError
from docutils.utils.math.latex2mathml import tex2mathml
from sphinx.util import logging

__all__ = ["setup", "to_mathml"]

_logger = logging.getLogger(__name__)


def to_mathml(latex: str, block: bool = False) -> str:
    """``latex`` as a ``<math>`` element (``display="block"`` for a displayed formula).

    Raises:
        docutils.utils.math.MathError: LaTeX the converter does not support.
    """
    return tex2mathml(latex.strip(), as_block=block)


def _render(translator: Any, node: nodes.Element, block: bool) -> None:
    latex = node.astext() if not block else node.get("latex", node.astext())
    try:
        rendered = to_mathml(latex, block)
    except MathError as exc:
        _logger.warning("formula cannot be shown as MathML (%s): %s", exc, latex, location=node)
        rendered = f'<code class="math-source">{html.escape(latex)}</code>'
    translator.body.append(f'<div class="math-block">{rendered}</div>' if block else rendered)
    raise nodes.SkipNode


def _visit_inline(translator: Any, node: nodes.Element) -> None:
    _render(translator, node, block=False)


def _visit_block(translator: Any, node: nodes.Element) -> None:
    _render(translator, node, block=True)


def setup(app: Any) -> dict[str, Any]:
    app.add_html_math_renderer("mathml", (_visit_inline, None), (_visit_block, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
