"""Open pages in headless Chromium (Debian's ``chromium``, driven by playwright) and report what a reader sees."""

import dataclasses
import os
import shutil

import pytest

DESKTOP = (1280, 900)
PHONE = (390, 844)  # an iPhone 12-15's CSS width


@dataclasses.dataclass
class PageView:
    """What the browser saw of one page at one width."""

    url: str
    width: int
    errors: list  # console errors and uncaught exceptions
    requests: list  # every URL asked for that is not file: or data: (the network)
    images: list  # (src, naturalWidth) of every <img>, after each one decoded (or failed to)
    scroll_width: int  # the document's width: more than the window means the page scrolls sideways
    text: str  # document.body.innerText: what a reader can read
    math: int  # <math> elements (formulas rendered as MathML)
    screenshot: bytes


def chromium_or_skip():
    """The Chromium executable; a skip locally without it, a failure in CI (``.ci/run`` installs it)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(
                'headless Chromium and playwright are needed in CI: apt-get install chromium, pip install -e ".[test]"'
            )
        pytest.skip("needs Debian's chromium and the playwright package (the test extra)")
    return path


def view_pages(urls, executable, sizes=(DESKTOP, PHONE)):
    """Load every URL at every size in one browser; returns a ``PageView`` for each (url, size), in order."""
    from playwright.sync_api import sync_playwright

    views = []
    with sync_playwright() as p:
        # The flags keep Chromium's own background traffic (updates, sync) off: only the page's requests remain.
        browser = p.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        try:
            for width, height in sizes:
                page = browser.new_page(viewport={"width": width, "height": height})
                for url in urls:
                    views.append(_view(page, url, width))
                page.close()
        finally:
            browser.close()
    return views


def _view(page, url, width):
    errors, requests = [], []
    on_console = lambda message: errors.append(message.text) if message.type == "error" else None  # noqa: E731
    on_error = lambda error: errors.append(str(error))  # noqa: E731
    on_request = lambda request: (  # noqa: E731
        requests.append(request.url) if not request.url.startswith(("file:", "data:")) else None
    )
    page.on("console", on_console)
    page.on("pageerror", on_error)
    page.on("request", on_request)
    try:
        page.goto(url, wait_until="load", timeout=60_000)
        # Lazy images below the fold would never load (decode() would wait forever): load them all now, and
        # give up on any image after 20 s, which leaves its naturalWidth at 0 for the test to report.
        page.evaluate("""() => Promise.race([
            Promise.all(Array.from(document.images).map(i => { i.loading = 'eager'; return i.decode().catch(() => null); })),
            new Promise(resolve => setTimeout(resolve, 20000))])""")
        images = page.evaluate("() => Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth])")
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
        text = page.evaluate("() => document.body.innerText")
        math = page.evaluate("() => document.querySelectorAll('math').length")
        shot = page.screenshot(full_page=False)
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_error)
        page.remove_listener("request", on_request)
    return PageView(url, width, errors, requests, images, scroll_width, text, math, shot)
