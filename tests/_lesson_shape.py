"""Measures of a lesson's shape, read from its source: its size and how much of its code is Keras."""

import io
import keyword
import re
import tokenize

MAX_LINES = 350
MIN_KERAS_SHARE = 0.25
# Names whose use is the Keras (or TensorFlow) API a lesson teaches: the modules, and the methods of
# models, layers and optimizers that lessons call on objects they built.
KERAS_NAMES = frozenset({"keras", "ops", "tf"})
KERAS_METHODS = frozenset(
    {
        "fit", "compile", "evaluate", "predict", "summary", "apply_gradients", "get_weights", "set_weights",
        "trainable_variables", "trainable_weights", "add_optimizer_variables", "update_step", "adapt",
        "history", "layers", "assign", "assign_add", "assign_sub", "get_config", "from_config",
    }
)  # fmt: skip
_BLANK = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}


def logical_lines(source):
    """The code's logical lines as token lists, without comments, blank lines or lone strings (prose)."""
    lines, current = [], []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in _BLANK:
            continue
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if current and not all(t.type == tokenize.STRING for t in current):
                lines.append(current)
            current = []
        else:
            current.append(token)
    return lines


def touches_keras(line):
    """A logical line uses the Keras API: names ``keras``/``ops``/``tf``, or calls a Keras method on an object."""
    for i, token in enumerate(line):
        if token.type != tokenize.NAME or keyword.iskeyword(token.string):
            continue
        if token.string in KERAS_NAMES and (i == 0 or line[i - 1].string != "."):
            return True
        if token.string in KERAS_METHODS and i > 0 and line[i - 1].string == ".":
            return True
    return False


def keras_share(source):
    """``(keras_lines, logical_lines)`` of a lesson's code."""
    lines = logical_lines(source)
    return sum(touches_keras(line) for line in lines), len(lines)


CELL_MARKER = re.compile(r"^# %%( \[markdown\])?$")
