"""The safety check of every page shopcast writes: no script, no fetch, no navigation.

A report or the gallery is read from disk, often by someone who did not write its data. The check
parses the final HTML (Python's :mod:`html.parser`) and refuses, naming what it found:

- scripts and anything that can run one: ``<script>``, event-handler attributes (``on*``),
  ``javascript:`` and other non-web schemes in links, SVG animation of links;
- anything that loads a URL or replaces the page: ``<iframe>``, ``<object>``, ``<embed>``,
  ``<base>``, ``<link>``, forms and inputs, ``<meta http-equiv=refresh>``, ``srcset``,
  ``srcdoc``, ``ping``, and any ``src``/``href``/``url()`` that is not a ``data:`` image or an
  in-page anchor (links a reader clicks may also be http, https or mailto; the gallery's links to
  its reports are relative; the one other ``data:`` link allowed is a table's or chart's CSV
  download: an ``<a>`` whose ``download`` names a ``.csv`` file and whose ``href`` is
  ``data:text/csv;charset=utf-8,`` followed only by unreserved characters and ``%XX`` escapes,
  see :mod:`shopcast.downloads`);
- markup the browser might read differently from this parser (elements with raw-text content
  such as ``<noscript>``, comments holding ``<``, ``>`` or ``--!``, a ``<`` left as text, an
  attribute given twice: every copy is checked, and the first is the one a browser keeps), so
  that nothing passes here that a browser would run.

Pages also carry a Content-Security-Policy (:data:`CSP`) that forbids scripts and every fetch
but inline styles and ``data:`` images, a second wall should the check ever miss something.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from shopcast.downloads import CSV_URL, FILE_NAME
from shopcast.exceptions import RenderError

#: The policy every page declares in a ``<meta http-equiv>``: no script, nothing from a URL.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "form-action 'none'; base-uri 'none'"
)

#: Elements that run code, load a URL, replace the page or parse differently in browsers.
FORBIDDEN_ELEMENTS = {
    "script": "a script",
    "iframe": "an iframe",
    "frame": "a frame",
    "frameset": "a frameset",
    "object": "an embedded object",
    "embed": "an embedded object",
    "applet": "an applet",
    "portal": "a portal",
    "fencedframe": "a fenced frame",
    "base": "a base URL",
    "link": "a linked resource",
    "form": "a form",
    "input": "an input",
    "button": "a button",
    "select": "a form control",
    "textarea": "a form control",
    "keygen": "a form control",
    "isindex": "a form control",
    # Raw-text elements: a browser and this parser read their content differently.
    "noscript": "a noscript element",
    "noembed": "a noembed element",
    "noframes": "a noframes element",
    "xmp": "an xmp element",
    "plaintext": "a plaintext element",
    "template": "a template element",
    # SVG animation can rewrite a link's target after the check.
    "set": "an SVG animation",
    "animate": "an SVG animation",
    "animatemotion": "an SVG animation",
    "animatetransform": "an SVG animation",
    "discard": "an SVG animation",
    "handler": "an SVG handler",
    "listener": "an SVG listener",
}

#: Attributes refused wherever they appear (``on*`` handlers are refused by prefix).
FORBIDDEN_ATTRIBUTES = {
    "srcset": "an image source set",
    "imagesrcset": "an image source set",
    "srcdoc": "an inline document",
    "ping": "a ping URL",
    "formaction": "a form action",
    "action": "a form action",
    "codebase": "a code base",
    "archive": "an archive URL",
}

#: Attributes whose value is a URL the browser loads (or navigates to, for ``a``/``area``).
URL_ATTRIBUTES = {
    "src",
    "href",
    "xlink:href",
    "data",
    "poster",
    "background",
    "lowsrc",
    "dynsrc",
    "longdesc",
    "cite",
    "manifest",
    "icon",
    "profile",
    "usemap",
    "itemtype",
}
LINK_SCHEMES = ("http", "https", "mailto")
DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp|svg\+xml|bmp)[;,]", re.I)
SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.I)
#: What a URL loses before a browser reads its scheme (java\tscript: is javascript:).
URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")
CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.I | re.S)
CSS_FORBIDDEN = re.compile(
    r"@import|image-set\(|expression\(|behavior\s*:|-moz-binding|javascript:", re.I
)
#: An event handler written into a start tag, however the tag's attributes are split (looked for
#: in the tag's text with its quoted values blanked out, as a second reading of the attributes).
RAW_HANDLER = re.compile(r"[\s/\"'`]on[a-z]+\s*=", re.I)
QUOTED_VALUE = re.compile(r"=\s*\"[^\"]*\"|=\s*'[^']*'")
HTTP_EQUIV_ALLOWED = {"content-type", "content-security-policy"}


def _url_problem(url: str, *, link: bool, relative: bool) -> str | None:
    """Why a URL is not allowed ('' or None when it is)."""
    clean = URL_NOISE.sub("", url)
    if clean == "" or clean.startswith("#"):
        return None
    if DATA_IMAGE.match(clean) and not link:
        return None
    scheme = SCHEME.match(clean)
    if link and scheme and scheme.group(1).lower() in LINK_SCHEMES:
        return None
    if link and relative and not scheme and not clean.startswith(("//", "\\\\", "/\\", "\\/")):
        return None
    if link:
        return "a link that is not http, https, mailto or an in-page anchor"
    return "an element that loads a URL (only data: images and in-page anchors are allowed)"


def _csv_download(tag: str, name: str, value: str, values: dict[str, str]) -> bool:
    """True for the one ``data:`` link allowed: ``<a download="x.csv" href="data:text/csv...">``.

    The URL must be the CSV prefix and percent-encoded text only (no markup, no other media
    type: never ``data:text/html``), and the file name a plain ``.csv`` name, so the saved file
    is never an ``.html`` page a browser would run.
    """
    return (
        tag == "a"
        and name == "href"
        and CSV_URL.match(value) is not None
        and FILE_NAME.match(values.get("download", "")) is not None
    )


def _css_problem(css: str) -> str | None:
    """Why a style sheet or ``style`` attribute is not allowed (None when it is)."""
    found = CSS_FORBIDDEN.search(css)
    if found:
        return f"a style that can load or run something ({found.group(0)!r})"
    for match in CSS_URL.finditer(css):
        if _url_problem(match.group(2), link=False, relative=False):
            return f"a style that loads a URL (url({match.group(2)[:80]}))"
    return None


class _Walk(HTMLParser):
    """Collects the first problem of a page (as ``(what, where)``) while parsing it."""

    def __init__(self, relative_links: bool) -> None:
        super().__init__(convert_charrefs=False)
        self.relative_links = relative_links
        self.problem: tuple[str, int] | None = None
        self.in_style = False

    def _refuse(self, what: str) -> None:
        if self.problem is None:
            self.problem = (what, self.getpos()[0])

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs)
        self.in_style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self.in_style = False

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in FORBIDDEN_ELEMENTS:
            self._refuse(f"{FORBIDDEN_ELEMENTS[tag]} (<{tag}>)")
            return
        raw = QUOTED_VALUE.sub('=""', self.get_starttag_text() or "")
        if RAW_HANDLER.search(raw):
            self._refuse(f"an event-handler attribute (<{tag}>)")
            return
        values: dict[str, str] = {}
        for name, value in attrs:  # a browser keeps the first of an attribute given twice
            values.setdefault(name, value or "")
        if tag == "meta":
            equiv = values.get("http-equiv", "").strip().lower()
            if equiv and equiv not in HTTP_EQUIV_ALLOWED:
                self._refuse(f"a meta http-equiv={equiv!r} (refresh or redirect)")
                return
        for name, raw_value in attrs:  # every copy of a repeated attribute
            value = raw_value or ""
            if name.startswith("on"):
                self._refuse(f"an event-handler attribute ({name} on <{tag}>)")
            elif name in FORBIDDEN_ATTRIBUTES:
                self._refuse(f"{FORBIDDEN_ATTRIBUTES[name]} ({name} on <{tag}>)")
            elif _csv_download(tag, name, value, values):
                continue
            elif name in URL_ATTRIBUTES or name.endswith(":href"):
                link = tag in ("a", "area") and name in ("href", "xlink:href")
                problem = _url_problem(value, link=link, relative=self.relative_links)
                if problem:
                    self._refuse(f"{problem} ({name}={value[:80]!r} on <{tag}>)")
            elif name == "style":
                problem = _css_problem(value)
                if problem:
                    self._refuse(f"{problem} (style on <{tag}>)")
            elif name == "attributename" and value.lower().endswith("href"):
                self._refuse(f"an animated link (<{tag}>)")

    def handle_data(self, data: str) -> None:
        if self.in_style:
            if "<" in data:
                self._refuse("a '<' inside a style sheet")
            problem = _css_problem(data)
            if problem:
                self._refuse(problem)
        elif "<" in data:
            self._refuse("a '<' that is not markup (a browser may read it as a tag)")

    def handle_comment(self, data: str) -> None:
        if any(s in data for s in ("<", ">", "--!")) or data.startswith("-"):
            self._refuse("a comment a browser may end early")

    def handle_decl(self, decl: str) -> None:
        if decl.strip().lower() != "doctype html":
            self._refuse(f"a declaration ({decl[:40]!r})")

    def unknown_decl(self, data: str) -> None:
        self._refuse(f"a CDATA section or declaration ({data[:40]!r})")

    def handle_pi(self, data: str) -> None:
        self._refuse(f"a processing instruction ({data[:40]!r})")


def check_self_contained(page: str, relative_links: bool = False) -> None:
    """Raise :class:`RenderError` if the page could run a script, fetch a URL or navigate.

    Args:
        page: the whole HTML page, as it will be written.
        relative_links: allow relative ``<a href>`` links (the gallery's links to its reports).
    """
    walk = _Walk(relative_links)
    walk.feed(page)
    walk.close()
    if walk.rawdata:  # e.g. a <style> never closed: its rest was never looked at
        walk._refuse("markup left unparsed at the end of the page (an element never closed)")
    if walk.problem is not None:
        what, line = walk.problem
        near = page.splitlines()[line - 1] if line <= len(page.splitlines()) else ""
        raise RenderError(
            f"the page would contain {what}, line {line} (near {near[:160]!r}); pages must be "
            "self-contained and inert: show data strings as text, embed images, drop "
            "JavaScript outputs and links to external resources"
        )
