"""User text on screen: shown as the characters typed, never as Markdown.

Streamlit renders the body of ``st.markdown``, ``st.write``, ``st.caption``, headers,
alerts and widget labels as Markdown. Text a user typed (a study name, a file name, a
provenance field, a design answer) must not become an image the browser fetches, a link,
or formatting, on anyone's screen. :func:`md` turns such text into Markdown that shows it
literally; use it wherever user text goes into a Markdown string, or use ``st.text``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["md", "md_all"]

# The marks that make Markdown (and Streamlit's directives) out of text: images, links,
# emphasis, code, maths, HTML and entities, tables, strike-through, colour directives.
# An underscore inside a word (sample_id) is no emphasis in CommonMark, so it stays as it is.
_INLINE = re.compile(r"([\\`*\[\]<>!$~|&{}]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
# Marks that only count at the start of a line: headings (also "===" under a line), lists, quotes.
_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")
# GitHub-flavoured Markdown turns bare URLs, "www." names and e-mail addresses in plain text
# into links even after backslash escapes; inside a code span they stay text, character for
# character.
_LINKY = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.|mailto:|xmpp:)[^\s<>]*|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
)


def md(text: object) -> str:
    """``text`` as Markdown that renders as exactly these characters.

    The marks that Markdown acts on are backslash-escaped (so no ``![image](url)``,
    ``[link](url)``, ``**bold**``, ``:red[colour]``, ``$maths$`` or ``<html>``; ``#``, ``-``,
    ``+``, ``>`` and ``1.`` at the start of a line make no heading, list or quote), each line
    break stays a line break, and URLs and e-mail addresses are shown as code, not linked.

    Examples
    --------
    >>> md("**hi**")
    '\\\\*\\\\*hi\\\\*\\\\*'
    """
    return "  \n".join(_line(line) for line in str(text).splitlines())


def _code(text: str) -> str:
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _escape(text: str) -> str:
    return _INLINE.sub(r"\\\1", text)


def _line(line: str) -> str:
    out, at = [], 0
    for m in _LINKY.finditer(line):
        out += [_escape(line[at : m.start()]), _code(m.group(0))]
        at = m.end()
    out.append(_escape(line[at:]))
    line = "".join(out)
    m = _LINE_START.match(line)
    if m:
        mark = m.group(2)
        escaped = mark[:-1] + "\\" + mark[-1] if mark[0].isdigit() else "\\" + mark
        line = m.group(1) + escaped + line[m.end() :]
    return line


def md_all(value: Any) -> Any:
    """``value`` with every string in it (in dicts, lists and tuples too) passed through
    :func:`md`: for an engine function that builds Markdown from a record holding user text."""
    if isinstance(value, str):
        return md(value)
    if isinstance(value, Mapping):
        return {k: md_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(md_all(v) for v in value)
    return value
