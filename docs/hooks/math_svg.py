"""MkDocs hook: typeset the pages' math at build time, as SVG, offline.

``pymdownx.arithmatex`` (``generic: true``) leaves every formula in the page as
``<span class="arithmatex">\\(...\\)</span>`` (inline: ``$...$``, ``\\(...\\)``) or
``<div class="arithmatex">\\[...\\]</div>`` (display: ``$$...$$``, ``\\[...\\]``,
``\\begin{env}...\\end{env}``).  This hook replaces each one with MathJax's SVG
output, computed while the site is built by ``quickjax`` (MathJax bundled for the
QuickJS engine; both come from PyPI, pinned in pyproject.toml's ``docs`` extra).
An SVG draws its glyphs as paths, so the built site loads no script, stylesheet
or font for its math, from a CDN or from anywhere else, and needs no JavaScript.

A formula MathJax cannot parse (an unbalanced brace, a misplaced ``&``) or one
that uses a macro it does not know is reported as a warning naming the page, so
``mkdocs build --strict`` fails on it instead of shipping red error text.
"""

from __future__ import annotations

import html
import logging
import re

log = logging.getLogger("mkdocs.hooks.math_svg")

# arithmatex escapes the TeX (& < >) and wraps it in \( \) or \[ \]; nothing else
# can be inside these elements, so a lazy match up to the closing tag is exact.
_MATH_RE = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.DOTALL)
_ERROR_RE = re.compile(r'data-mjx-error="([^"]*)"')
# MathJax's noundefined package typesets an unknown macro as red text
_UNDEFINED_RE = re.compile(r'data-mml-node="mtext" fill="red" stroke="red" data-latex="(\\[A-Za-z]+)"')
# Material styles `.md-typeset svg` with max-width: 100%, which would shrink a
# wide equation to fit; keep MathJax's size (the display box scrolls, as before).
_SVG_STYLE = 'style="max-width: none; '
_DISPLAY_STYLE = "display: block; text-align: center; margin: 1em 0"

# quickjax draws with MathJax's "local" font cache: each SVG carries its own
# <defs> with the path of every glyph it uses, named MJX-<n>-<font>-<variant>-<code>.
# A page repeats the same hundred glyphs thousands of times, so typeset() keeps one
# copy of each in a hidden SVG at the page's top (MathJax's "global" cache does
# the same) and drops the data-latex attributes (for MathJax's menu, not shipped):
# docs/math.md's page goes from 1.7 MB to 0.7 MB.
_DEFS_RE = re.compile(r"<defs>(.*?)</defs>", re.DOTALL)
_GLYPH_RE = re.compile(r'<path id="MJX-\d+-([^"]+)" d="([^"]*)"/>')
_GLYPH_REF_RE = re.compile(r'xlink:href="#MJX-\d+-')
_DATA_LATEX_RE = re.compile(r' data-latex="[^"]*"')

_renderer = None


def _get_renderer():
    global _renderer
    if _renderer is None:
        try:
            from quickjax import MathJaxRenderer
        except ImportError as exc:
            from mkdocs.exceptions import PluginError

            raise PluginError(
                f"docs/hooks/math_svg.py typesets the math with quickjax ({exc}): "
                "install the docs extra, pip install -e '.[docs]'"
            ) from exc
        _renderer = MathJaxRenderer()
    return _renderer


def _strip_delimiters(text: str) -> tuple[str, bool] | None:
    text = text.strip()
    if text.startswith("\\(") and text.endswith("\\)"):
        return text[2:-2], False
    if text.startswith("\\[") and text.endswith("\\]"):
        return text[2:-2], True
    return None


def render(tex: str, display: bool, where: str = "") -> str:
    """MathJax's SVG for ``tex``, checked: a TeX error is logged as a warning."""
    svg = _get_renderer().render(tex, display=display)
    for message in _ERROR_RE.findall(svg):
        log.warning("math in %s: %s: %s", where, html.unescape(message), tex.strip())
    for macro in _UNDEFINED_RE.findall(svg):
        log.warning("math in %s: undefined macro %s: %s", where, macro, tex.strip())
    label = html.escape(" ".join(tex.split()), quote=True)
    svg = svg.replace('role="img"', f'role="img" aria-label="{label}"', 1)
    return svg.replace('style="', _SVG_STYLE, 1)


def _share_glyphs(svg: str, glyphs: dict[str, str]) -> str:
    """``svg`` pointing at the page's shared glyphs, which it adds to ``glyphs``.

    An SVG whose <defs> hold anything but glyph paths, or a glyph whose path
    differs from the one already shared under its name, keeps its own <defs>.
    """
    match = _DEFS_RE.search(svg)
    if match is None:
        return svg
    found = _GLYPH_RE.findall(match.group(1))
    if _GLYPH_RE.sub("", match.group(1)).strip() or any(
        glyphs.get(key, path) != path for key, path in found
    ):
        return svg
    glyphs.update(found)
    svg = svg[: match.start()] + svg[match.end() :]
    return _DATA_LATEX_RE.sub("", _GLYPH_REF_RE.sub('xlink:href="#MJX-', svg))


def typeset(content: str, where: str = "") -> str:
    """Replace every arithmatex element in ``content`` by its rendered SVG."""
    glyphs: dict[str, str] = {}

    def replace(match: re.Match) -> str:
        tag, body = match.group(1), match.group(2)
        parsed = _strip_delimiters(html.unescape(body))
        if parsed is None:
            log.warning("math in %s: no \\( \\) or \\[ \\] around %r", where, body[:80])
            return match.group(0)
        tex, display = parsed
        svg = _share_glyphs(render(tex, display, where), glyphs)
        if display:
            # laid out as MathJax's own display container was (Material lets the
            # outer div scroll sideways; a too-wide line starts at the left)
            return f'<{tag} class="arithmatex"><div style="{_DISPLAY_STYLE}">{svg}</div></{tag}>'
        return f'<{tag} class="arithmatex">{svg}</{tag}>'

    content = _MATH_RE.sub(replace, content)
    if not glyphs:
        return content
    paths = "".join(f'<path id="MJX-{key}" d="{path}"/>' for key, path in glyphs.items())
    cache = (
        '<svg xmlns="http://www.w3.org/2000/svg" style="display: none" aria-hidden="true">'
        f"<defs>{paths}</defs></svg>"
    )
    return cache + content


def on_page_content(html_text, page, **kwargs):
    if 'class="arithmatex"' not in html_text:
        return html_text
    return typeset(html_text, page.file.src_uri)
