"""Dashboards in a real browser: headless Chromium (Debian's `chromium` package)
driven by playwright. Every page opens from a file with the network cut off,
every plot renders traces under every dropdown entry, no JavaScript error is
raised or logged, and markup in user-supplied names does not run.

Screenshots go to the test's tmp_path and, when HWSIM_SCREENSHOTS names a
directory, there too. Needs: `apt-get install -y chromium` and
`pip install playwright` (no `playwright install`: the system browser is used).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from hwsim.dashboard.page import PANELS, write_dashboard
from tests.dashboard_documents import HOSTILE, full_document, hostile_document

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Drawn marks of a trace; one counts when it has an area on screen (a bar of no
# value, or a line through one point, has none).
RENDERED = (".barlayer .point path, .scatterlayer .point, .scatterlayer .js-line, "
            ".heatmaplayer image")


def _sync_playwright(chromium: str = CHROMIUM):
    """playwright's entry point, or a failure (never a skip: CI installs both)
    naming what to install."""
    if not Path(chromium).exists():
        pytest.fail(f"{chromium} not found: install Debian's chromium package "
                    "(apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is not installed (pip install playwright; the "
                    "system chromium is used, no `playwright install`)")
    return sync_playwright


@pytest.fixture(scope="module")
def browser():
    with _sync_playwright()() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("dashboards")
    document = full_document()
    partial = {"format": "hwsim-results", "format_version": 1,
               "compare": document["compare"][:30], "details": document["details"][:1]}
    return {
        "full": write_dashboard(document, root / "full", source="summary.json").index,
        "hostile": write_dashboard(hostile_document(document), root / "hostile",
                                   source=HOSTILE + ".json").index,
        "partial": write_dashboard(partial, root / "partial", source="partial.json").index,
    }


class Watch:
    """Everything a page does that the test forbids: errors, dialogs, requests
    that leave the file."""

    def __init__(self, page):
        self.problems: list[str] = []
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("console", self._console)
        page.on("dialog", self._dialog)
        page.route("**/*", self._route)

    def _console(self, message):
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def _dialog(self, dialog):
        self.problems.append(f"dialog ({dialog.type}): {dialog.message}")
        dialog.dismiss()

    def _route(self, route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.problems.append(f"network request: {url}")
            route.abort()


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    watch = Watch(page)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function("() => [...document.querySelectorAll('.plotly-graph-div')]"
                           ".every(d => d.classList.contains('js-plotly-plot'))", timeout=30_000)
    return page, watch


def _rendered(page, plot_id: str) -> int:
    """Marks with an area in the plot `plot_id` (0 when plotly drew no SVG)."""
    return page.eval_on_selector(
        f"#{plot_id}",
        "(d, sel) => d.querySelector('.main-svg') ? [...d.querySelectorAll(sel)]"
        ".filter(e => { const b = e.getBBox(); return b.width > 0 && b.height > 0; }).length : 0",
        RENDERED)


def _check_every_menu_entry(page, plot_id: str) -> int:
    """Pick each entry of the plot's dropdown (if any; hwsim puts it first among
    the plot's menus); each must draw traces. Then press every plain button."""
    plot = page.locator(f"#{plot_id}")
    menus = page.evaluate(f"() => (document.getElementById('{plot_id}').layout.updatemenus || [])"
                          ".map(m => [m.type || 'dropdown', m.buttons.length])")
    for i, (kind, count) in enumerate(menus):
        if kind == "buttons":
            for button in plot.locator(".updatemenu-container").nth(i).locator(
                    ".updatemenu-button").all():
                button.click()
                assert _rendered(page, plot_id) > 0, f"{plot_id}: a button draws nothing"
    if not menus or menus[0][0] == "buttons":
        return 0
    headers = plot.locator(".updatemenu-header-group")
    entries = menus[0][1]
    for i in range(entries):
        headers.first.click()
        plot.locator(".updatemenu-dropdown-button").nth(i).click()
        page.wait_for_timeout(50)
        assert _rendered(page, plot_id) > 0, f"{plot_id}: menu entry {i} draws nothing"
    headers.first.click()
    plot.locator(".updatemenu-dropdown-button").nth(0).click()
    return entries


def _screenshots(page, name: str, tmp_path: Path) -> list[Path]:
    targets = [tmp_path]
    if os.environ.get("HWSIM_SCREENSHOTS"):
        targets.append(Path(os.environ["HWSIM_SCREENSHOTS"]))
    shots = []
    for directory in targets:
        directory.mkdir(parents=True, exist_ok=True)
        whole = directory / f"dashboard-{name}.png"
        page.screenshot(path=str(whole), full_page=True)
        shots.append(whole)
        for section in page.locator("section.panel").all():
            key = section.get_attribute("id")
            section.screenshot(path=str(directory / f"dashboard-{name}-{key}.png"))
    return shots


@pytest.mark.parametrize("name", ["full", "hostile", "partial"])
def test_dashboard_renders_every_plot_without_errors(browser, pages, name, tmp_path):
    page, watch = _open(browser, pages[name])
    plots = page.eval_on_selector_all(".plotly-graph-div", "ds => ds.map(d => d.id)")
    assert plots, "no plot on the page"
    if name != "partial":
        assert plots == [f"plot-{spec.key}" for spec in PANELS]
    for plot_id in plots:
        assert _rendered(page, plot_id) > 0, f"{plot_id} is empty"
        if name == "full":
            _check_every_menu_entry(page, plot_id)
    shots = _screenshots(page, name, tmp_path)
    assert all(s.stat().st_size > 10_000 for s in shots)
    assert watch.problems == []
    page.close()


def test_partial_document_lists_the_panels_it_cannot_draw(browser, pages):
    page, watch = _open(browser, pages["partial"])
    items = page.locator("#skipped li").all_inner_texts()
    assert items == ['Bit-width what-if: the document has no "sweep" section',
                     'Crossover map: where lut beats int8: the document has no "crossover" '
                     'section',
                     'Which style wins where: the document has no "crossover" section',
                     'Share of battery per product: the document has no "products" section',
                     'Training runs: the document has no "training" section']
    assert watch.problems == []
    page.close()


def test_markup_in_names_is_shown_as_text_and_never_runs(browser, pages):
    page, watch = _open(browser, pages["hostile"])
    page.wait_for_timeout(300)            # an onerror handler would have fired by now
    assert page.evaluate("() => document.querySelectorAll('img, [onerror]').length") == 0
    assert page.title() == f"hwsim dashboard: {HOSTILE}.json"
    assert page.locator("header code").inner_text() == f"{HOSTILE}.json"
    # plotly draws the name as literal text (the axis labels cut long names).
    ticks = page.eval_on_selector_all("#plot-fit .ytick text", "ts => ts.map(t => t.textContent)")
    assert any(t.startswith("</script><img src=x onerror") for t in ticks), ticks
    # Hover over the fit matrix's first cell: its label names the workload whole.
    box = page.locator("#plot-fit .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.wait_for_selector("#plot-fit .hoverlayer .hovertext", timeout=5_000)
    hover = page.locator("#plot-fit .hoverlayer .hovertext").text_content()
    assert f"{HOSTILE} on apollo3-blue" in hover
    assert watch.problems == []
    page.close()


def test_the_checks_catch_what_they_look_for(browser, tmp_path):
    """The watcher and the emptiness check against pages known to be bad."""
    import plotly.graph_objects as go
    import plotly.io as pio
    figures = {"empty": go.Figure(go.Scatter(x=[], y=[])),
               "nulls": go.Figure(go.Bar(x=[1, 2], y=[None, None])),
               "drawn": go.Figure(go.Bar(x=[1, 2], y=[3, 4]))}
    body = "".join(pio.to_html(f, include_plotlyjs=i == 0, full_html=False, div_id=key)
                   for i, (key, f) in enumerate(figures.items()))
    bad = tmp_path / "bad.html"
    bad.write_text(f"<html><body>{body}<img src=x onerror=alert(1)>"
                   "<script>console.error('logged'); undefinedFunction();</script>"
                   "<img src='https://example.invalid/x.png'></body></html>")
    page, watch = _open(browser, bad)
    page.wait_for_timeout(300)
    assert [_rendered(page, key) for key in figures] == [0, 0, 2]
    found = "\n".join(watch.problems)
    for expected in ("dialog (alert): 1", "console error: logged", "page error:",
                     "network request: https://example.invalid/x.png"):
        assert expected in found, found
    page.close()


def test_missing_chromium_is_a_failure_naming_the_package(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        _sync_playwright(str(tmp_path / "chromium"))
