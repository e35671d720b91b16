"""Dashboards without a browser: figures built from real results documents,
escaping of user-supplied names, byte-identical pages, bad input and output."""
from __future__ import annotations

import html
import json
import os
import re

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from hwsim import io as artifact_io
from hwsim.cli import main
from hwsim.dashboard.page import INDEX, PANELS, build_panels, render_page, write_dashboard
from hwsim.results.document import check_results, read_results
from hwsim.dashboard.figures import fit_heatmap, fit_score, style_bars
from hwsim.dashboard.whatif import metric_value, pareto_front, whatif_figure
from hwsim.errors import HwsimError
from tests.conftest import run_cli
from tests.dashboard_documents import HOSTILE, full_document, hostile_document

PANEL_KEYS = [spec.key for spec in PANELS]


@pytest.fixture(scope="module")
def document():
    return full_document()


@pytest.fixture(scope="module")
def page(document):
    return render_page(document, "summary.json")


def _scripts(page: str) -> list[str]:
    """Bodies of the page's <script> elements."""
    return re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)


# --- pure pieces ---------------------------------------------------------------------------

def test_pareto_front_maximise_keeps_points_that_buy_a_better_metric():
    points = [(10, 0.80), (12, 0.85), (12, 0.83), (15, 0.84), (20, 0.90), (9, 0.70), (25, 0.90)]
    assert pareto_front(points, maximise=True) == [5, 0, 1, 4]


def test_pareto_front_minimise_for_mse_and_ties_keep_the_first():
    points = [(5, 0.30), (5, 0.30), (7, 0.10), (6, 0.20), (8, 0.15)]
    assert pareto_front(points, maximise=False) == [0, 3, 2]
    assert pareto_front([], maximise=True) == []


def _row(**changes):
    row = {"workload": "w", "device": "d", "style": "lut", "fits": True, "fits_ram": True,
           "fits_flash": True, "fits_deadline": True, "ram_margin_bytes": 600,
           "flash_margin_bytes": 900, "deadline_margin_ms": 8.0, "ram_bytes": 400,
           "flash_bytes": 100, "cycles_per_inference": 1000, "energy_per_inference_uj": 1.5,
           "deadline_ms": 10.0, "latency_ms_max": 2.0}
    row.update(changes)
    return row


def test_fit_score_is_the_worst_share_on_the_side_of_the_fits_flag():
    assert fit_score(_row()) == pytest.approx(0.6)           # RAM: 600 of 1000 spare
    short = _row(fits=False, fits_deadline=False, deadline_margin_ms=-5.0)
    assert fit_score(short) == pytest.approx(-0.5)           # 5 ms short of 10
    way_short = _row(fits=False, fits_deadline=False, deadline_margin_ms=-80.0)
    assert fit_score(way_short) == -1.0                      # clipped
    never = _row(fits=False, fits_deadline=False, deadline_margin_ms=None, latency_ms_max=None)
    assert fit_score(never) == -1.0
    assert fit_score(_row(fits=False, fits_ram=False, ram_margin_bytes=0)) < 0


# --- figures from a real document ----------------------------------------------------------

def test_every_panel_is_drawn_from_a_full_document(document):
    panels = build_panels(document)
    assert [p.key for p in panels] == PANEL_KEYS
    for panel in panels:
        assert panel.skipped is None and panel.figure is not None, panel.key
        visible = [t for t in panel.figure.data if t.visible is not False]
        assert visible, panel.key
        assert any(len(t.x if t.x is not None else t.z) for t in visible), panel.key


def test_fit_heatmap_has_a_matrix_per_style_coloured_by_fit(document):
    rows = document["compare"]
    fig = fit_heatmap(rows)
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    devices = list(dict.fromkeys(r["device"] for r in rows))
    assert [t.name for t in fig.data] == ["lut", "int8", "float32"]
    for trace in fig.data:
        assert len(trace.z) == len(workloads) and all(len(line) == len(devices)
                                                      for line in trace.z)
        for row in (r for r in rows if r["style"] == trace.name):
            cell = trace.z[workloads.index(row["workload"])][devices.index(row["device"])]
            assert (cell >= 0) == row["fits"]
            hover = trace.customdata[workloads.index(row["workload"])][devices.index(row["device"])]
            assert "RAM:" in hover and "flash:" in hover and "deadline" in hover
    assert any(not r["fits"] for r in rows) and any(r["fits"] for r in rows)


def test_whatif_front_is_the_pareto_front_of_each_resource(document):
    rows = [r for r in document["sweep"] if metric_value(r) is not None]
    fig = whatif_figure(rows)
    first = [r for r in rows if (r["workload"], r["device"]) == (rows[0]["workload"],
                                                                 rows[0]["device"])]
    fronts = [t for t in fig.data if t.name == "Pareto front" and t.visible]
    assert len(fronts) == 4
    for trace, key in zip(fronts, ("ram_bytes", "flash_bytes", "cycles_per_inference",
                                   "energy_per_inference_uj")):
        points = [(r[key], metric_value(r)) for r in first]
        expected = pareto_front(points, maximise=first[0]["metric"] == "accuracy")
        assert list(trace.x) == [points[i][0] for i in expected]
    menu = fig.layout.updatemenus[0]
    groups = {(r["workload"], r["device"]) for r in rows}
    assert len(menu.buttons) == len(groups)
    mse = [b for b in menu.buttons if "MSE" in b.args[1]["yaxis.title.text"]]
    assert mse, "the digits-ae sweep is judged by its MSE"


def test_style_bars_one_menu_entry_per_workload_and_a_bar_per_style(document):
    fig = style_bars(document["compare"])
    workloads = list(dict.fromkeys(r["workload"] for r in document["compare"]))
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == [
        f"workload: {w}" for w in workloads]
    shown = [t for t in fig.data if t.visible]
    assert sorted({t.name for t in shown}) == ["float32", "int8", "lut"]
    assert len(shown) == 3 * 4


def test_timeline_has_core_and_dma_lanes_and_deadlines(document):
    panel = next(p for p in build_panels(document) if p.key == "timeline")
    menu = panel.figure.layout.updatemenus[0]
    with_dma = [b for b in menu.buttons if "DMA" in b.args[1]["yaxis.ticktext"]]
    multi_core = [b for b in menu.buttons if "core 1" in b.args[1]["yaxis.ticktext"]]
    assert with_dma and multi_core
    assert {t.name for t in panel.figure.data} >= {"frame 0", "frame 2", "deadline",
                                                   "frame arrives"}


def test_memory_is_held_to_the_end_and_drawn_against_sram(document):
    panel = next(p for p in build_panels(document) if p.key == "memory")
    detail = document["details"][0]
    in_use, live, sram = panel.figure.data[:3]
    assert in_use.line.shape == "hv"
    assert in_use.y[0] == detail["static_ram_bytes"] + detail["memory_over_time"][0][1]
    assert list(sram.y) == [detail["sram_bytes"]] * 2
    last_end = max(e["end_cycle"] for e in detail["timeline"])
    assert in_use.x[-1] == pytest.approx(1000 * last_end / detail["clock_hz"])


# --- the page --------------------------------------------------------------------------------

def test_page_is_self_contained_with_plotly_inline_once(page):
    assert not re.search(r"<script[^>]*\ssrc=", page), "no script is loaded from elsewhere"
    assert "cdn.plot.ly" not in page.split("<script")[0]
    bundles = [s for s in _scripts(page) if len(s) > 1_000_000]
    assert len(bundles) == 1, "plotly.js is inlined exactly once"
    for key in PANEL_KEYS:
        assert f'id="plot-{key}"' in page and f'id="panel-{key}"' in page


def test_same_document_same_bytes(document, tmp_path):
    first = write_dashboard(document, tmp_path / "a", source="summary.json").index.read_bytes()
    again = json.loads(json.dumps(document))
    second = write_dashboard(again, tmp_path / "b", source="summary.json").index.read_bytes()
    assert first == second


def test_missing_sections_are_listed_with_the_reason(document):
    partial = {"format": "hwsim-results", "format_version": 1,
               "compare": document["compare"], "sweep": [],
               "details": [{**document["details"][0], "memory_over_time": []}]}
    panels = {p.key: p for p in build_panels(partial)}
    assert panels["fit"].figure is not None and panels["nodes"].figure is not None
    assert panels["whatif"].skipped == '"sweep": no row has a metric value'
    assert panels["memory"].skipped == '"details": no detail has memory_over_time points'
    assert panels["training"].skipped == 'the document has no "training" section'
    page = render_page(partial, "partial.json")
    skipped = page.split('<section id="skipped"', 1)[1].split("</section>", 1)[0]
    for title in ("Bit-width what-if", "Memory over time", "Training runs"):
        assert f"<b>{title}</b>" in skipped
    assert html.escape('the document has no "training" section') in skipped


def test_an_empty_document_is_a_page_listing_every_panel_as_skipped(tmp_path):
    result = write_dashboard({"format": "hwsim-results", "format_version": 1}, tmp_path)
    assert result.drawn == ()
    assert len(result.skipped) == len(PANELS)
    page = result.index.read_text()
    assert "Plotly.newPlot" not in page and page.count("<li>") == len(PANELS)


# --- escaping ----------------------------------------------------------------------------

def test_plotly_json_escapes_closing_tags():
    # What the page relies on: plotly writes <, > and / inside its JSON as \\u escapes.
    figure_json = pio.to_json(go.Figure(layout_title_text=HOSTILE))
    assert "</" not in figure_json and "<img" not in figure_json


def test_user_names_never_reach_the_page_as_markup(document):
    source = HOSTILE + ".json"
    page = render_page(hostile_document(document), source)
    assert HOSTILE not in page
    assert "<img" not in page
    figures = [body for body in _scripts(page) if "Plotly.newPlot" in body]
    assert len(figures) == len(PANELS)
    for body in figures:
        assert "</" not in body, "a closing tag inside a script would end it early"
    escaped = html.escape(source)
    assert f"<title>hwsim dashboard: {escaped}</title>" in page
    assert f"<code>{escaped}</code>" in page
    # In the figures: entities plotly shows as the characters, "/" as a JSON escape.
    assert "&lt;\\u002fscript&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_skipped_list_escapes_what_it_shows():
    page = render_page({"format": "hwsim-results", "format_version": 1}, HOSTILE)
    assert HOSTILE not in page and html.escape(HOSTILE) in page


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    ("{not json", "invalid JSON at line 1 column 2"),
    ("[1, 2]", "not a results document (a JSON object"),
    ('{"format": "something-else", "format_version": 1}',
     'not a results document: format must be "hwsim-results"'),
    ('{"format": "hwsim-results", "format_version": 7}', "unsupported format_version 7"),
    ('{"format": "hwsim-results", "format_version": 1, "compare": {}}', "compare: must be a list"),
    ('{"format": "hwsim-results", "format_version": 1, "training": [{"workload": "w", '
     '"activation_levels": 4, "weight_clusters": 4, "metrics": {"metric": "x", '
     '"continuous": NaN}}]}', "NaN is not valid JSON"),
])
def test_bad_documents_name_the_file_and_the_problem(tmp_path, content, message):
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(HwsimError) as err:
        read_results(path)
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)


def test_every_field_problem_is_listed_with_its_path(document):
    doc = json.loads(json.dumps(document))
    del doc["compare"][0]["ram_bytes"]
    doc["sweep"][1]["metric"] = "f1"
    doc["details"][0]["timeline"][2]["start_cycle"] = "soon"
    doc["details"][0]["memory_over_time"][1] = [1, 2, 3]
    with pytest.raises(HwsimError) as err:
        check_results(doc, "r.json")
    text = str(err.value)
    assert text.startswith("r.json: 4 problems")
    assert "r.json: compare[0].ram_bytes: missing" in text
    assert "r.json: sweep[1].metric: must be \"accuracy\", \"mse\" or null, got 'f1'" in text
    assert "r.json: details[0].timeline[2].start_cycle: must be a number, got 'soon'" in text
    assert "r.json: details[0].memory_over_time[1]: must be [cycle, bytes]" in text


def test_unreadable_inputs(tmp_path):
    with pytest.raises(HwsimError, match=r"missing\.json: no such file$"):
        read_results(tmp_path / "missing.json")
    with pytest.raises(HwsimError, match="is a directory"):
        read_results(tmp_path)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(HwsimError, match="not UTF-8"):
        read_results(binary)


# --- output ------------------------------------------------------------------------------

def test_output_that_is_a_file_or_under_a_file_is_refused(tmp_path):
    doc = {"format": "hwsim-results", "format_version": 1}
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HwsimError, match="exists and is not a directory"):
        write_dashboard(doc, blocker)
    with pytest.raises(HwsimError, match="cannot create output directory"):
        write_dashboard(doc, blocker / "dash")


def test_a_failed_write_leaves_the_old_page_and_no_temporary_file(tmp_path, monkeypatch):
    doc = {"format": "hwsim-results", "format_version": 1}
    write_dashboard(doc, tmp_path)
    before = (tmp_path / INDEX).read_bytes()

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(artifact_io.os, "replace", full_disk)
    with pytest.raises(HwsimError, match=r"cannot write \(No space left on device\)"):
        write_dashboard({**doc, "compare": []}, tmp_path, source="other.json")
    assert sorted(os.listdir(tmp_path)) == [INDEX]
    assert (tmp_path / INDEX).read_bytes() == before


# --- CLI ---------------------------------------------------------------------------------

def test_cli_writes_the_page_and_lists_skipped_panels(tmp_path, capsys, document):
    results = tmp_path / "summary.json"
    results.write_text(json.dumps({**document, "training": []}))
    assert main(["dashboard", str(results), "--out", str(tmp_path / "dash")]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'dash' / INDEX} (9 panels:" in out
    assert "not drawn: Training runs: \"training\": the section is empty" in out
    assert main(["dashboard", str(results), "--out", str(tmp_path / "dash"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["skipped"] == [{"panel": "Training runs",
                                   "reason": "\"training\": the section is empty"}]


def test_cli_errors_are_one_line_and_exit_2(tmp_path):
    missing = run_cli("dashboard", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr == ("hwsim: error: runs/report/summary.json: no such file (run "
                              "`hwsim report` first, or name a results document)\n")
    (tmp_path / "bad.json").write_text('{"format": "hwsim-results"}')
    bad = run_cli("dashboard", "bad.json", "--out", "dash", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("hwsim: error: bad.json: unsupported format_version None")
    assert not (tmp_path / "dash").exists()


def test_battery_share_panel_draws_every_soc_per_style(document):
    from hwsim.dashboard.figures import battery_share_bars
    rows = document["products"]
    fig = battery_share_bars(rows)
    socs = {r["soc"] for r in rows}
    assert len(socs) >= 8
    shown = [t for t in fig.data if t.visible is not False]
    assert {t.name for t in shown} == {r["workload"] for r in rows if r["style"] == "lut"}
    for trace in shown:
        mine = {r["soc"]: r for r in rows if r["style"] == "lut" and r["workload"] == trace.name}
        assert sorted(y for y in trace.y if y is not None) == pytest.approx(
            sorted(100 * r["network_share"] for r in mine.values()))
