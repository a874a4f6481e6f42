"""Open every page of the built book in a real headless Chromium and fail on what a reader would see.

`make book-test` runs it after `make book`. The site is served from 127.0.0.1 (as a reader's
`python3 -m http.server` would; Chromium refuses fonts from file:// pages) and every request that
leaves that server is blocked and reported: the site must render offline. Each page fails on
- a console error or an uncaught exception, a local request that failed or answered >= 400,
  a request outside the site;
- an image that did not load (``naturalWidth == 0``), or a notebook page that shows fewer figures
  than its notebook's saved outputs hold;
- math left as source: a Sphinx math element MathJax did not typeset, or ``$…$``, ``$$``, ``\\(``,
  ``\\[``, ``\\begin{`` in the page's text (code and outputs in <pre>/<code> aside);
- an internal link to a file that is not in the build, or to an anchor that is not on its page;
- no <title> or no <h1>;
- a notebook page without a Colab launch link or without copy buttons on its code;
- a notebook page that shows fewer cells' outputs than its notebook holds, or whose notebook was
  saved without outputs; a figure hidden or narrower than 200 px, or without alt text (a hash file
  name is not one) or a caption;
- the search page finding nothing for "BPR", or a result whose snippet shows the theme's buttons ("Light Dark");
- at a phone's width (390 px): a page wider than the screen, a navigation button that does not
  open the sidebar (or that Escape does not close), or a figure squeezed to the screen that a tap
  does not open at its own width (or that Escape does not close).
It saves a full-page screenshot of each page under --out, and ends with "N passed, M failed".

Playwright drives the system's Chromium (Debian's `chromium` package: `apt-get install chromium`);
it never downloads a browser of its own.
"""

from __future__ import annotations

import argparse
import fnmatch
import functools
import json
import re
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from playwright.sync_api import sync_playwright

SKIP_DIRS = {"_static", "_sources", "_images"}

# Text of the page with code, outputs and typeset math taken out; what remains must hold no TeX.
PAGE_FACTS_JS = r"""
() => {
  const root = document.querySelector("main") || document.body;
  const clone = root.cloneNode(true);
  clone.querySelectorAll("pre, code, script, style, textarea, mjx-container, .highlight, .output")
       .forEach(e => e.remove());
  const untypeset = Array.from(document.querySelectorAll(".math"))
       .filter(e => !e.querySelector("mjx-container"))
       .map(e => e.textContent.trim().slice(0, 80));
  const images = Array.from(document.images).map(i => ({
       src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0,
       output: !!i.closest(".cell_output"),
       alt: i.getAttribute("alt") || "",
       caption: (i.closest("figure")?.querySelector("figcaption")?.textContent || "").trim(),
       shownWidth: Math.round(i.getBoundingClientRect().width),
       visible: i.checkVisibility ? i.checkVisibility({opacityProperty: true, visibilityProperty: true})
                                  : !!i.offsetParent}));
  return {
    title: document.title.trim(),
    h1: Array.from(document.querySelectorAll("h1")).map(h => h.textContent.trim()).filter(Boolean),
    text: clone.textContent,
    untypeset,
    typeset: document.querySelectorAll("mjx-container").length,
    images,
    hrefs: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
    ids: Array.from(document.querySelectorAll("[id], a[name]")).map(e => e.id || e.getAttribute("name")),
    copyButtons: document.querySelectorAll("button.copybtn").length,
    codeCells: document.querySelectorAll("div.cell_input").length,
    outputCells: document.querySelectorAll("div.cell_output").length,
    mathjaxLoaded: !!(window.MathJax && window.MathJax.startup),
    mathjaxWanted: !!document.querySelector("script[src*='mathjax']"),
  };
}
"""

WAIT_JS = r"""
async () => {
  document.querySelectorAll("img[loading=lazy]").forEach(i => { i.loading = "eager"; });
  await Promise.all(Array.from(document.images).filter(i => !i.complete)
       .map(i => new Promise(r => { i.addEventListener("load", r); i.addEventListener("error", r); })));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await document.fonts.ready;
}
"""

RAW_MATH = [
    re.compile(r"\$\$"),
    re.compile(r"(?<![\w$])\$(?=[^\s$\d])[^$\n]{1,200}?(?<=[^\s$\\])\$(?![\w$])"),
    re.compile(r"\\\(|\\\)|\\\[|\\\]"),
    re.compile(r"\\begin\{"),
]


def raw_math(text: str) -> list[str]:
    found = []
    for pattern in RAW_MATH:
        for match in pattern.finditer(text):
            start = max(match.start() - 30, 0)
            found.append(" ".join(text[start:match.end() + 30].split()))
    return found[:5]


def figures_in_notebook(path: Path) -> int:
    """How many figures the notebook's saved outputs hold (the images its page must show)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return sum(any(kind.startswith("image/") for kind in output.get("data", {}))
               for cell in notebook["cells"] if cell["cell_type"] == "code" for output in cell.get("outputs", []))


def cells_with_outputs(path: Path) -> tuple[int, int]:
    """(code cells, code cells with saved outputs) of a notebook, its setup cell left out as the
    book leaves it out (book/conf.py)."""
    cells = [cell for cell in json.loads(path.read_text(encoding="utf-8"))["cells"] if cell["cell_type"] == "code"][1:]
    return len(cells), sum(bool(cell.get("outputs")) for cell in cells)


#: A figure narrower than this on the desktop page is unreadable (squashed, or a stray icon).
MIN_FIGURE_WIDTH = 200

SEARCH_JS = r"""
async () => {
  for (let i = 0; i < 100; i++) {
    const results = [...document.querySelectorAll("#search-results li")];
    const snippets = results.map(li => li.querySelector("p.context")).filter(Boolean).map(p => p.textContent.trim());
    if (results.length && snippets.length >= Math.min(results.length, 5)) return {hits: results.length, snippets: snippets};
    await new Promise(r => setTimeout(r, 100));
  }
  return {hits: document.querySelectorAll("#search-results li").length, snippets: []};
}
"""

#: A search snippet that starts with the theme's buttons rather than the page's text.
CHROME_SNIPPET = re.compile(r"^(\.\.\.)?\s*(Colab|Light|Dark|System|\.ipynb|\.pdf)\b|Light\s+Dark")


def serve(site: Path) -> tuple[ThreadingHTTPServer, str]:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def local_target(site: Path, base: str, href: str) -> tuple[Path, str] | None:
    """The file and anchor an internal link leads to (None for a link outside the site)."""
    if not href.startswith(base):
        return None
    parts = urlsplit(href)
    relative = unquote(parts.path)[len(urlsplit(base).path):]
    target = site / relative
    if not relative or relative.endswith("/"):
        target = target / "index.html"
    return target, unquote(parts.fragment)


#: A phone's viewport (CSS pixels), as a 6.1-inch phone reports it.
PHONE = {"width": 390, "height": 844}

SIDEBAR_OPEN_JS = r"""
() => {
  const dialog = document.getElementById("pst-primary-sidebar-modal");
  return !!dialog && dialog.open && dialog.querySelectorAll("a[href]").length;
}
"""


#: The first figure a phone shows narrower than the figure itself: its index and both widths.
SQUEEZED_FIGURE_JS = r"""
() => {
  const images = [...document.querySelectorAll(".cell_output img")];
  const full = img => Number(img.getAttribute("width")) || img.naturalWidth;  // a retina PNG: half its pixels
  const index = images.findIndex(img => img.getBoundingClientRect().width > 0 && full(img) > img.getBoundingClientRect().width + 20);
  return index < 0 ? null : {index, shown: images[index].getBoundingClientRect().width, natural: full(images[index])};
}
"""

ZOOMED_WIDTH_JS = r"""
() => { const img = document.querySelector(".book-zoom img"); return img ? img.getBoundingClientRect().width : 0; }
"""


def zoom_problems(page, shot: Path) -> list[str]:
    """On a phone, a figure squeezed to the screen opens at its own width on a tap (book.js), and a
    tap on it or Escape closes it. Saves a screenshot of the opened figure."""
    squeezed = page.evaluate(SQUEEZED_FIGURE_JS)
    if squeezed is None:
        return []
    image = page.locator(".cell_output img").nth(squeezed["index"])
    image.scroll_into_view_if_needed()
    image.click()
    page.wait_for_timeout(150)
    zoomed = page.evaluate(ZOOMED_WIDTH_JS)
    if abs(zoomed - squeezed["natural"]) > 5:
        return [f"at {PHONE['width']} px a tap on a figure shown {squeezed['shown']:.0f} px wide does not open it at its "
                f"{squeezed['natural']} px (opened: {zoomed:.0f} px)"]
    page.screenshot(path=str(shot))
    page.keyboard.press("Escape")
    page.wait_for_timeout(100)
    if page.evaluate(ZOOMED_WIDTH_JS):
        return [f"at {PHONE['width']} px Escape does not close a figure opened full size"]
    return []


def phone_problems(page, shot: Path) -> list[str]:
    """The page at a phone's width: no wider than the screen, and the visible navigation button
    opens the sidebar with its links (and Escape closes it). Saves a screenshot of the screen."""
    problems = []
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(150)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"at {PHONE['width']} px the page lays out {width} px wide: it pans sideways")
    page.screenshot(path=str(shot))
    problems += zoom_problems(page, shot.with_name(shot.stem + "_figure.png"))
    toggle = page.locator(".primary-toggle >> visible=true").first
    if not toggle.count():
        return [*problems, f"at {PHONE['width']} px no navigation button is visible"]
    toggle.click()
    page.wait_for_timeout(150)
    if not page.evaluate(SIDEBAR_OPEN_JS):
        problems.append(f"at {PHONE['width']} px the navigation button does not open the sidebar")
    else:
        page.keyboard.press("Escape")
        page.wait_for_timeout(100)
        if page.evaluate(SIDEBAR_OPEN_JS):
            problems.append(f"at {PHONE['width']} px Escape does not close the sidebar")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=Path("book/_build/html"))
    parser.add_argument("--out", type=Path, default=Path("artifacts/book"), help="where the screenshots go")
    parser.add_argument("--notebooks", type=Path, default=Path("."),
                        help="the folder the pages' notebooks lie under (notebooks/NN_*.html is notebooks/NN_*.ipynb)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for one page to load")
    parser.add_argument("--only", default="*", help="open only the pages whose path matches this glob")
    args = parser.parse_args(argv)

    site = args.site.resolve()
    pages = sorted(p for p in site.rglob("*.html") if not SKIP_DIRS & set(p.relative_to(site).parts)
                   and fnmatch.fnmatch(p.relative_to(site).as_posix(), args.only))
    if not (site / "index.html").is_file():
        print(f"no built site at {args.site} (run `make book` first)", file=sys.stderr)
        return 2
    if not Path(args.chromium).exists():
        print(f"no Chromium at {args.chromium} (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.png"):
        old.unlink()

    server, base = serve(site)
    failures: dict[str, list[str]] = {}
    ids: dict[Path, set[str]] = {}
    anchors: list[tuple[str, Path, str]] = []  # (page, target file, anchor) checked once every page is read
    started = time.perf_counter()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, headless=True)
            outside: list[str] = []

            def route(route):
                url = route.request.url
                if url.startswith(base) or url.startswith(("data:", "blob:")):
                    route.continue_()
                else:
                    outside.append(url)
                    route.abort()

            for path in pages:
                name = path.relative_to(site).as_posix()
                problems: list[str] = []
                outside.clear()
                # A fresh context for each page: a first visit, with no state left by the pages before.
                context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
                context.route("**/*", route)
                page = context.new_page()
                page.on("console", lambda m, p=problems: m.type == "error" and p.append(f"console error: {m.text}"))
                page.on("pageerror", lambda e, p=problems: p.append(f"uncaught exception: {e}"))
                page.on("requestfailed", lambda r, p=problems: r.url.startswith(base)
                        and p.append(f"request failed: {r.url} ({r.failure})"))
                page.on("response", lambda r, p=problems: r.url.startswith(base) and r.status >= 400
                        and p.append(f"HTTP {r.status}: {r.url}"))
                t0 = time.perf_counter()
                page.goto(base + name, wait_until="load", timeout=args.timeout * 1000)
                page.evaluate(WAIT_JS)
                facts = page.evaluate(PAGE_FACTS_JS)
                shot = args.out / (name.removesuffix(".html").replace("/", "__") + ".png")
                page.screenshot(path=str(shot), full_page=True)
                problems += phone_problems(page, args.out / (shot.stem + "__phone.png"))
                context.close()

                problems += [f"requested outside the site: {url}" for url in outside]
                if not facts["title"] or "no title" in facts["title"]:
                    problems.append(f"no title: {facts['title']!r}")
                if not facts["h1"]:
                    problems.append("no <h1> heading")
                if facts["mathjaxWanted"] and not facts["mathjaxLoaded"]:
                    problems.append("MathJax did not load")
                problems += [f"math not typeset: {m!r}" for m in facts["untypeset"][:5]]
                problems += [f"raw math in the text: {m!r}" for m in raw_math(facts["text"])]
                problems += [f"image did not load: {i['src']}" for i in facts["images"] if not i["ok"]]
                problems += [f"figure hidden or {i['shownWidth']} px wide (under {MIN_FIGURE_WIDTH}): {i['src']}"
                             for i in facts["images"] if i["output"] and i["ok"]
                             and (not i["visible"] or i["shownWidth"] < MIN_FIGURE_WIDTH)]
                problems += [f"figure without alt text that says what it shows (alt {i['alt']!r}): {i['src']}"
                             for i in facts["images"] if i["output"] and len(i["alt"].split()) < 4]
                problems += [f"figure without a caption: {i['src']}" for i in facts["images"] if i["output"] and not i["caption"]]
                notebook = args.notebooks / (name.removesuffix(".html") + ".ipynb")
                figures = sum(i["output"] for i in facts["images"])
                if name.startswith("notebooks/") and notebook.is_file():
                    expected = figures_in_notebook(notebook)
                    if figures < expected:
                        problems.append(f"{figures} figures shown of the notebook's {expected}")
                    code_cells, with_outputs = cells_with_outputs(notebook)
                    if code_cells and not with_outputs:
                        problems.append("its notebook was saved without outputs: run it (`make run`) before the book")
                    elif facts["outputCells"] < with_outputs:
                        problems.append(f"{facts['outputCells']} cells show outputs of the notebook's {with_outputs}")
                    if not any(h.startswith("https://colab.research.google.com/") for h in facts["hrefs"]):
                        problems.append("no Colab launch link")
                    if facts["codeCells"] and not facts["copyButtons"]:
                        problems.append("code cells without copy buttons")
                for href in facts["hrefs"]:
                    target = local_target(site, base, href)
                    if target is None:
                        continue
                    file, anchor = target
                    if not file.is_file():
                        problems.append(f"broken link: {href} (no {file.relative_to(site)})")
                    elif anchor and file.suffix == ".html":
                        anchors.append((name, file, anchor))
                ids[path] = set(facts["ids"])
                problems = list(dict.fromkeys(problems))  # a resource asked for twice fails twice
                if problems:
                    failures[name] = problems
                print(f"{'FAIL' if problems else 'ok  '} {name}: {len(facts['images'])} images ({figures} figures),"
                      f" {facts['typeset']} formulas, {len(facts['hrefs'])} links, {time.perf_counter() - t0:.1f} s")
                for problem in problems[:20]:
                    print(f"       {problem}")
            # Search runs offline from the site's own index: a query every notebook teaches must find pages.
            context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
            context.route("**/*", route)
            page = context.new_page()
            page.goto(base + "search.html?q=BPR", wait_until="load", timeout=args.timeout * 1000)
            found = page.evaluate(SEARCH_JS)
            context.close()
            hits, chrome = found["hits"], [text for text in found["snippets"] if CHROME_SNIPPET.search(text)]
            print(f"{'ok  ' if hits and not chrome else 'FAIL'} search for 'BPR': {hits} results, "
                  f"{len(found['snippets'])} snippets read, {len(chrome)} starting with the theme's buttons")
            if not hits:
                failures["search.html?q=BPR"] = ["the search found nothing for 'BPR'"]
            elif chrome:
                failures["search.html?q=BPR"] = [f"a search snippet shows the theme's buttons: {chrome[0][:80]!r}"]
            browser.close()
    finally:
        server.shutdown()

    for name, file, anchor in anchors:
        known = ids.get(file)
        if known is None:  # a page this run did not open: read its ids from the file
            known = set(re.findall(r'\b(?:id|name)="([^"]+)"', file.read_text(encoding="utf-8")))
        if anchor not in known:
            failures.setdefault(name, []).append(f"broken anchor: {file.relative_to(site).as_posix()}#{anchor}")
            print(f"FAIL {name}: broken anchor {file.relative_to(site).as_posix()}#{anchor}")

    print(f"{len(pages)} pages in {time.perf_counter() - started:.1f} s; screenshots in {args.out}/")
    print(f"{len(pages) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
