"""Open a page in headless Chromium (Debian's ``chromium``, driven by playwright) and report what a reader sees."""

import dataclasses
import os
import shutil

import pytest


@dataclasses.dataclass
class PageView:
    """What the browser saw: each image's natural width, each lesson's images and tables, console errors."""

    images: list  # (src, naturalWidth)
    lessons: list  # dicts: id, images, tables, failed
    errors: list
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


def view(url, executable, width=1200, height=900):
    """Load ``url``, wait for every image to decode, and collect what the page shows."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(url, wait_until="load", timeout=60_000)
            page.evaluate("() => Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)))")
            images = page.evaluate(
                "() => Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth])"
            )
            lessons = page.evaluate("""() => Array.from(document.querySelectorAll('section.lesson')).map(s => ({
                id: s.id, images: s.querySelectorAll('img').length, tables: s.querySelectorAll('table').length,
                failed: s.querySelector('.failed') !== null}))""")
            shot = page.screenshot(full_page=False)
        finally:
            browser.close()
    return PageView(images, lessons, errors, shot)
