"""The documentation site builds, renders its math itself, and loads nothing from other hosts.

The site is built once (``mkdocs build --strict``, as .ci/run does) into a temporary
folder.  Its math is typeset at build time as SVG by docs/hooks/math_svg.py, so:

* no built page may load a script, stylesheet, font, image or frame from another
  host (a CDN, Google Fonts, ...): the site must work offline;
* docs/math.md's page must hold rendered math and no TeX delimiters in its text;
* where a headless Chromium is installed, the math page must render to a picture.

Needs the ``docs`` extra (``pip install -e ".[docs]"``); skipped without mkdocs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT_S = 300

# (tag, attribute) pairs through which a page makes the browser fetch something
_FETCHING = {
    ("script", "src"),
    ("link", "href"),
    ("img", "src"),
    ("iframe", "src"),
    ("source", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("audio", "src"),
    ("video", "src"),
}
# <link> relations that name a URL without fetching it
_LINK_NOT_FETCHED = {"canonical", "alternate", "author", "license", "me"}
_CSS_URL_RE = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""")


def _is_external(url: str) -> bool:
    """True for http(s)://host/..., //host/... and any other scheme with a host."""
    parts = urlsplit(url.strip())
    return bool(parts.netloc) or parts.scheme.lower() in {"http", "https", "ftp"}


def _build_site(site: Path) -> tuple[int, str]:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built site's folder; built once per test run, even under pytest-xdist."""
    pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install -e '.[docs]'")
    pytest.importorskip("quickjax", reason="quickjax (docs extra) is not installed: pip install -e '.[docs]'")
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run: build once, not per worker
    site_dir, result = root / "docs-site", root / "docs-site.result"
    try:
        import fcntl
    except ImportError:  # no flock (Windows): each worker builds its own
        site_dir, result = tmp_path_factory.mktemp("docs") / "site", None
        fcntl = None
    if fcntl is None:
        rc, output = _build_site(site_dir)
    else:
        with open(root / "docs-site.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not result.exists():
                rc, output = _build_site(site_dir)
                result.write_text(f"{rc}\n{output}")
            rc_text, _, output = result.read_text().partition("\n")
            rc = int(rc_text)
    if rc != 0:
        pytest.fail(f"mkdocs build --strict failed (exit {rc}):\n{output[-4000:]}", pytrace=False)
    return site_dir


class _Page(HTMLParser):
    """What a built page fetches, its math elements, and its text outside code and SVG."""

    _NO_TEXT = frozenset({"code", "pre", "script", "style", "svg", "kbd", "samp"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fetched: list[str] = []  # '<tag attr="url">' for each resource it loads
        self.styles: list[str] = []  # inline <style> blocks and style="" attributes
        self.math: list[dict] = []  # per class="arithmatex" element: its count of top SVGs
        self.ids: set[str] = set()
        self.refs: set[str] = set()  # '#id' targets of <use> in SVGs
        self._text: list[str] = []
        self._hidden = 0
        self._open_math: list[tuple[str, dict]] = []
        self._in_style = False

    @property
    def text(self) -> str:
        return "".join(self._text)

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v or "") for k, v in attrs}
        for name, value in attrs.items():
            if (tag, name) in _FETCHING and _is_external(value):
                rel = set(attrs.get("rel", "").lower().split())
                if tag == "link" and rel and rel <= _LINK_NOT_FETCHED:
                    continue
                self.fetched.append(f'<{tag} {name}="{value}">')
        if "srcset" in attrs:
            for candidate in attrs["srcset"].split(","):
                if candidate.strip() and _is_external(candidate.split()[0]):
                    self.fetched.append(f'<{tag} srcset="{attrs["srcset"]}">')
        if "style" in attrs:
            self.styles.append(attrs["style"])
        if "id" in attrs:
            self.ids.add(attrs["id"])
        ref = attrs.get("xlink:href") or attrs.get("href")
        if tag == "use" and ref:
            self.refs.add(ref)
        if self._open_math and self._open_math[-1][0] == tag:
            self._open_math[-1][1]["depth"] += 1
        if "arithmatex" in attrs.get("class", "").split():
            entry = {"svgs": 0, "depth": 1}
            self.math.append(entry)
            self._open_math.append((tag, entry))
        if tag == "svg" and self._open_math and self._hidden == 0:
            self._open_math[-1][1]["svgs"] += 1
        if tag in self._NO_TEXT:
            self._hidden += 1
        if tag == "style":
            self._in_style = True

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in self._NO_TEXT:
            self._hidden -= 1

    def handle_endtag(self, tag):
        if tag in self._NO_TEXT:
            self._hidden -= 1
        if tag == "style":
            self._in_style = False
        if self._open_math and self._open_math[-1][0] == tag:
            entry = self._open_math[-1][1]
            entry["depth"] -= 1
            if entry["depth"] == 0:
                self._open_math.pop()

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)
        if not self._hidden:
            self._text.append(data)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_site_loads_nothing_from_other_hosts(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 10, f"only {len(pages)} pages built in {site}"
    problems = []
    for path in pages:
        page = _parse(path)
        rel = path.relative_to(site)
        problems += [f"{rel}: {tag}" for tag in page.fetched]
        for style in page.styles:
            problems += [f"{rel}: style url {u}" for u in _CSS_URL_RE.findall(style) if _is_external(u)]
    for path in sorted(site.rglob("*.css")):
        css = path.read_text(encoding="utf-8", errors="replace")
        problems += [f"{path.relative_to(site)}: url {u}" for u in _CSS_URL_RE.findall(css) if _is_external(u)]
    assert not problems, "the site fetches from other hosts:\n" + "\n".join(problems)
    # MathJax (or any math renderer) is not shipped as a script: math is rendered at build time
    scripts = [p.name for p in site.rglob("*.js")]
    assert not [s for s in scripts if re.search(r"mathjax|katex", s, re.IGNORECASE)], scripts


def test_math_page_holds_rendered_math(site):
    path = site / "math" / "index.html"
    assert path.is_file(), f"docs/math.md was not built to {path}"
    html = path.read_text(encoding="utf-8")
    page = _parse(path)
    # every formula arithmatex marked became exactly one SVG (MathJax's output)
    assert len(page.math) >= 300, f"only {len(page.math)} formulas on the math page"
    unrendered = [i for i, m in enumerate(page.math) if m["svgs"] != 1]
    assert not unrendered, f"{len(unrendered)} math elements hold no single SVG (first: #{unrendered[0]})"
    assert html.count('role="img"') >= len(page.math)
    assert "data-mjx-error" not in html, "MathJax reported a TeX error on the math page"
    # every glyph a formula draws is defined on the page
    missing = {ref for ref in page.refs if ref.startswith("#") and ref[1:] not in page.ids}
    assert not missing, f"{len(missing)} glyphs used but not defined, e.g. {sorted(missing)[:3]}"
    # and no TeX is left in the page's text (code blocks aside)
    for delimiter in ("$$", "\\(", "\\)", "\\[", "\\]", "\\frac", "\\begin{"):
        at = page.text.find(delimiter)
        assert at < 0, f"raw {delimiter!r} in the math page's text: {page.text[max(0, at - 80):at + 80]!r}"


def test_math_page_renders_in_headless_chromium(site, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no headless Chromium (chromium) on PATH")
    shot = tmp_path / "math.png"
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,2000",
        f"--screenshot={shot}",
        (site / "math" / "index.html").as_uri(),
    ]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    assert shot.is_file(), f"no screenshot (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
    assert len(data) > 30_000, f"the screenshot is only {len(data)} bytes"
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(shot) as image:
        grey = image.convert("L")
        dark = sum(grey.histogram()[:128])
        assert grey.size == (1280, 2000)
        # text and formulas: a blank or failed page has (almost) no dark pixels
        assert dark > 0.005 * grey.size[0] * grey.size[1], f"only {dark} dark pixels"


def _hook():
    pytest.importorskip("quickjax", reason="quickjax (docs extra) is not installed: pip install -e '.[docs]'")
    import importlib.util

    spec = importlib.util.spec_from_file_location("math_svg", ROOT / "docs" / "hooks" / "math_svg.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "tex, message",
    [(r"\foo x", r"undefined macro \foo"), (r"\frac{a", "Missing close brace"), (r"a & b", "Misplaced &")],
)
def test_math_hook_warns_on_bad_tex(tex, message, caplog):
    """A formula MathJax cannot typeset is a warning, so a --strict build fails on it."""
    hook = _hook()
    escaped = tex.replace("&", "&amp;")
    with caplog.at_level("WARNING", logger="mkdocs.hooks.math_svg"):
        hook.typeset(f'<p><span class="arithmatex">\\({escaped}\\)</span></p>', "page.md")
    assert any(message in r.getMessage() and "page.md" in r.getMessage() for r in caplog.records), caplog.text


def test_math_hook_shares_glyphs_and_keeps_text():
    hook = _hook()
    out = hook.typeset(
        '<p>A <span class="arithmatex">\\(x &lt; y\\)</span> and</p>\n'
        '<div class="arithmatex">\\[\nx &lt; y\n\\]</div>'
    )
    assert out.count("<defs>") == 1 and out.startswith('<svg xmlns="http://www.w3.org/2000/svg" style="display: none"')
    assert "<p>A " in out and " and</p>" in out and "\\(" not in out and "\\[" not in out
    assert 'aria-label="x &lt; y"' in out and "data-latex" not in out
    used = set(re.findall(r'xlink:href="#([^"]+)"', out))
    defined = set(re.findall(r'<path id="([^"]+)"', out))
    assert used and used <= defined
