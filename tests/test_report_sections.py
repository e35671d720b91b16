"""The report's cached sections (hwsim/report/sections.py): a warm run reads what a cold
run computed, the same rows; any changed input is a new key."""
from __future__ import annotations

import json
import shutil

import pytest

from hwsim.evaluate.compare import compare
from hwsim.evaluate.simulate import load_subject
from hwsim.evaluate.soc import compare_products
from hwsim.ir.style import STYLES
from hwsim.report import sections
from hwsim.specs.catalog import find_device
from hwsim.specs.device import load_device
from hwsim.specs.soc import load_soc
from hwsim.sweep.cache import open_cache, package_sha256
from hwsim.sweep.plan import SweepSpec, plan_sweep
from hwsim.sweep.run import run_sweep
from tests.conftest import REPO

DETAILS = {("digits-mlp", "nrf52840", "lut")}


def _refuse(*args, **kwargs):
    raise AssertionError("computed although cached")


def test_compare_section_is_read_back_unchanged(tmp_path, monkeypatch):
    cache = open_cache(tmp_path / "cache")
    subjects = [load_subject("digits-mlp")]
    sources = [sections.subject_source("digits-mlp", None)]
    devices = [find_device("nrf52840"), find_device("samd21")]
    rows, details, note = sections.cached_compare(cache, subjects, sources, devices, 5, DETAILS)
    direct = compare(subjects, devices, STYLES, frames=5,
                     detail=lambda w, d, s: (w, d, s) in DETAILS)
    assert note is None and len(rows) == 2 * len(STYLES) and len(details) == 1
    assert json.dumps(rows) == json.dumps(list(direct.rows))
    assert json.dumps(details) == json.dumps(list(direct.details))

    monkeypatch.setattr(sections, "compare", _refuse)
    seen = []
    again = sections.cached_compare(cache, subjects, sources, devices, 5, DETAILS,
                                    progress=lambda done, total: seen.append((done, total)))
    assert again == (rows, details, None) and seen == [(6, 6)]
    # Another frame count, another detail set: new keys, computed (and refused here).
    with pytest.raises(AssertionError, match="computed although cached"):
        sections.cached_compare(cache, subjects, sources, devices, 6, DETAILS)
    with pytest.raises(AssertionError, match="computed although cached"):
        sections.cached_compare(cache, subjects, sources, devices, 5, set())


def test_an_edited_device_file_is_a_new_key(tmp_path, monkeypatch):
    cache = open_cache(tmp_path / "cache")
    subjects = [load_subject("digits-mlp")]
    sources = [sections.subject_source("digits-mlp", None)]
    path = tmp_path / "nrf52840.yaml"
    shutil.copy(REPO / "devices" / "nrf52840.yaml", path)
    sections.cached_compare(cache, subjects, sources, [load_device(path)], 5, set())
    monkeypatch.setattr(sections, "compare", _refuse)
    sections.cached_compare(cache, subjects, sources, [load_device(path)], 5, set())
    path.write_text(path.read_text() + "# edited\n")
    with pytest.raises(AssertionError, match="computed although cached"):
        sections.cached_compare(cache, subjects, sources, [load_device(path)], 5, set())


def test_products_section_is_read_back_unchanged(tmp_path, monkeypatch):
    cache = open_cache(tmp_path / "cache")
    subjects = [load_subject("digits-mlp")]
    sources = [sections.subject_source("digits-mlp", None)]
    socs = [load_soc(REPO / "devices" / "soc" / "nordic-nrf5340.yaml")]
    rows, note = sections.cached_products(cache, subjects, sources, socs, 5)
    direct = compare_products(subjects, socs, STYLES, frames=5)
    assert note is None and len(rows) == len(STYLES)
    assert json.dumps(rows) == json.dumps(list(direct))
    monkeypatch.setattr(sections, "compare_products", _refuse)
    assert sections.cached_products(cache, subjects, sources, socs, 5) == (rows, None)


def test_what_is_not_from_a_file_is_computed_every_time(tmp_path, monkeypatch):
    cache = open_cache(tmp_path / "cache")
    device = find_device("nrf52840")
    loose = type(device)(**{**device.__dict__, "source_file": None})
    subjects = [load_subject("digits-mlp")]
    sources = [sections.subject_source("digits-mlp", None)]
    calls = []
    monkeypatch.setattr(sections, "compare", lambda *a, **k: calls.append(1) or compare(*a, **k))
    for _ in range(2):
        sections.cached_compare(cache, subjects, sources, [loose], 5, set())
    assert len(calls) == 2 and not (tmp_path / "cache" / "report_compare").exists()


def test_package_digest_is_a_sha256_of_the_package():
    digest = package_sha256()
    assert len(digest) == 64 and digest == package_sha256()


def test_sweep_section_is_one_entry_read_back_unchanged(tmp_path, monkeypatch):
    cache = open_cache(tmp_path / "cache")
    plan = plan_sweep(SweepSpec("sww-dscnn", levels=(4,), clusters=(4, 16),
                                devices=("nrf52840",)))
    rows, notes = sections.cached_sweep(cache, plan, jobs=1)
    direct = run_sweep(plan, cache=open_cache(tmp_path / "other"), jobs=1)
    assert len(rows) == 2 * len(STYLES) and json.dumps(rows) == json.dumps(list(direct.rows))
    monkeypatch.setattr(sections, "run_sweep", _refuse)
    seen = []
    again = sections.cached_sweep(cache, plan, jobs=1,
                                  progress=lambda done, total: seen.append((done, total)))
    assert again == (rows, notes) and seen == [(plan.total_units, plan.total_units)]
    other = plan_sweep(SweepSpec("sww-dscnn", levels=(4,), clusters=(4,),
                                 devices=("nrf52840",)))
    with pytest.raises(AssertionError, match="computed although cached"):
        sections.cached_sweep(cache, other, jobs=1)
