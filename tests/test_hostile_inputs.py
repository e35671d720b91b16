"""Hostile inputs on every input path: each is one clear error naming the file
(exit 2), never a traceback, never a hang; an unexpected exception is reported by
the CLI as a bug (exit 3) with the traceback only under --debug."""
from __future__ import annotations

import io
import json
import os
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hwsim import cli
from hwsim.artifact.load import load_artifact
from hwsim.artifact.save import save_artifact
from hwsim.errors import HwsimError
from hwsim.io import MAX_NESTING, MAX_SPEC_BYTES, read_file_bytes, read_npz
from hwsim.results.document import read_results
from hwsim.specs.device import load_device
from hwsim.specs.workload import load_workload
from hwsim.sweep.cache import Cache
from hwsim.train.pipeline import run_training
from tests.conftest import REPO, run_cli
from tests.test_graph import tiny

DEVICE = REPO / "devices" / "nrf52840.yaml"


@pytest.fixture(scope="module")
def mlp_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "mlp"
    save_artifact(run_training(tiny("digits-mlp")), path)
    return path


def _assert_user_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stderr.startswith("hwsim: error: ")
    for fragment in fragments:
        assert fragment in result.stderr


# -- the CLI's last line of defence ---------------------------------------------------
def test_unexpected_exception_is_one_line_bug_report(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("boom")
    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda *a: _with_run(parser(*a), broken))
    assert cli.main(["devices"]) == cli.EXIT_BUG
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bug in hwsim" in err and "'hwsim devices'" in err
    assert "ZeroDivisionError: boom" in err and "Traceback" not in err
    assert cli.main(["devices", "--debug"]) == cli.EXIT_BUG
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: boom" in err


def _with_run(parser, run):
    parser.set_defaults(run=run)
    for action in parser._subparsers._group_actions:          # every subcommand too
        for sub in action.choices.values():
            sub.set_defaults(run=run)
    return parser


# -- spec files (devices, workloads) ----------------------------------------------------
HOSTILE_YAML = {
    "deep_list": "[" * 5000 + "]" * 5000,
    "deep_map": "a: " * 2000 + "1",
    "complex_key": "? [1, 2]\n: 3\nname: x\n",
    "complex_map_key": "? {a: 1}\n: 3\n",
    "alias_bomb": "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8)),
    "recursive_alias": "a: &a [*a]\n",
    "not_utf8": b"name: \xff\xfe\n",
    "nul_bytes": "name: a\x00b\n",
    "python_tag": "!!python/object/apply:os.system ['true']\n",
}


@pytest.mark.parametrize("kind", ["device", "workload"])
@pytest.mark.parametrize("case", sorted(HOSTILE_YAML))
def test_hostile_yaml_is_one_error(tmp_path, kind, case):
    path = tmp_path / f"{case}.yaml"
    content = HOSTILE_YAML[case]
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    loader = load_device if kind == "device" else load_workload
    with pytest.raises(HwsimError, match=str(path).replace(".", r"\.")):
        loader(path)


def test_hostile_yaml_through_the_cli(tmp_path):
    for case, content in sorted(HOSTILE_YAML.items()):
        path = tmp_path / f"{case}.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    results = [run_cli("devices", "check", str(tmp_path / f"{case}.yaml"))
               for case in sorted(HOSTILE_YAML)]
    for result in results:
        assert result.returncode == 2 and "Traceback" not in result.stderr


def test_nesting_limit_is_stated():
    assert MAX_NESTING == 64 and MAX_SPEC_BYTES == 1 << 20


def test_non_regular_paths_are_refused_before_opening(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)                    # reading it would block for ever
    result = run_cli("devices", "show", str(fifo), timeout=30)
    _assert_user_error(result, "not a regular file")
    _assert_user_error(run_cli("simulate", str(fifo), "--device", "nrf52840", timeout=30),
                       "not a regular file")
    _assert_user_error(run_cli("devices", "show", str(tmp_path)), "")
    _assert_user_error(run_cli("dashboard", str(fifo), "--out", str(tmp_path / "d"),
                               timeout=30), "not a regular file")
    for reader in (load_device, load_workload, read_results):
        with pytest.raises(HwsimError, match="not a regular file"):
            reader(fifo)
        with pytest.raises(HwsimError, match="is a directory"):
            reader(tmp_path)
        with pytest.raises(HwsimError, match="not a directory"):
            reader(DEVICE / "inside.yaml")


def test_over_size_spec_is_refused(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("name: x\nlist: [" + "1, " * (MAX_SPEC_BYTES // 3) + "1]\n")
    with pytest.raises(HwsimError, match="byte limit"):
        load_device(big)
    with pytest.raises(HwsimError, match="byte limit"):
        read_file_bytes(big, 10)


def test_trailing_newline_in_a_name_is_refused(tmp_path):
    text = DEVICE.read_text().replace("name: nrf52840", 'name: "nrf52840\\n"')
    assert text != DEVICE.read_text()
    path = tmp_path / "device.yaml"
    path.write_text(text)
    with pytest.raises(HwsimError, match="name: must be"):
        load_device(path)


# -- results documents ---------------------------------------------------------------
@pytest.mark.parametrize("text", ["[" * 100000 + "]" * 100000, '{"a": NaN}', "{" , "\xff",
                                  '{"format": []}', "[]"])
def test_hostile_results_documents(tmp_path, text):
    path = tmp_path / "results.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape") if text != "\xff" else b"\xff")
    with pytest.raises(HwsimError, match="results.json"):
        read_results(path)
    _assert_user_error(run_cli("dashboard", str(path), "--out", str(tmp_path / "out")),
                       "results.json")
    assert not (tmp_path / "out").exists()


# -- artifacts ------------------------------------------------------------------------
def _copy(mlp_dir, tmp_path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(mlp_dir, copy)
    return copy


def _json_change(change):
    def apply(directory: Path):
        doc = json.loads((directory / "model.json").read_text())
        change(doc)
        (directory / "model.json").write_text(json.dumps(doc))
    return apply


def _deep_json(directory: Path):
    (directory / "model.json").write_text("[" * 100000 + "]" * 100000)


def _npz_bytes(directory: Path, data: bytes):
    (directory / "model.npz").write_bytes(data)


def _flip_deflate(directory: Path):
    data = bytearray((directory / "model.npz").read_bytes())
    start = data.index(b"PK\x03\x04") + 30 + struct.unpack("<H", data[26:28])[0] + 8
    for i in range(start, start + 40):
        data[i] ^= 0xFF
    (directory / "model.npz").write_bytes(bytes(data))


def _unknown_method(directory: Path):
    data = bytearray((directory / "model.npz").read_bytes())
    offset = 0
    while (offset := data.find(b"PK", offset)) >= 0:
        if data[offset:offset + 4] == b"PK\x03\x04":
            data[offset + 8:offset + 10] = struct.pack("<H", 99)
        if data[offset:offset + 4] == b"PK\x01\x02":
            data[offset + 10:offset + 12] = struct.pack("<H", 99)
        offset += 2
    (directory / "model.npz").write_bytes(bytes(data))


def _huge_header(directory: Path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        header = {"descr": "<f8", "fortran_order": False, "shape": (1 << 40, 1 << 20)}
        member = io.BytesIO()
        np.lib.format.write_array_header_1_0(member, header)
        archive.writestr("big.npy", member.getvalue() + b"\0" * 64)
    (directory / "model.npz").write_bytes(buffer.getvalue())


def _npz_is_directory(directory: Path):
    (directory / "model.npz").unlink()
    (directory / "model.npz").mkdir()


def _json_is_fifo(directory: Path):
    (directory / "model.json").unlink()
    os.mkfifo(directory / "model.json")


ARTIFACT_DAMAGE = {
    "deep_json": _deep_json,
    "json_is_fifo": _json_is_fifo,
    "npz_is_directory": _npz_is_directory,
    "npz_garbage": lambda d: _npz_bytes(d, b"PK\x03\x04" + b"\0" * 100),
    "npz_empty": lambda d: _npz_bytes(d, b""),
    "npz_bit_rot": _flip_deflate,
    "npz_unknown_method": _unknown_method,
    "npz_huge_header": _huge_header,
    "tables_is_list": _json_change(lambda doc: doc.__setitem__("tables", [1, 2])),
    "table_name_is_list": _json_change(
        lambda doc: [m.__setitem__("table", ["x"]) for m in doc["layers"] if "table" in m]),
    "codebook_scope_is_list": _json_change(
        lambda doc: [t.__setitem__("codebook", [1]) for t in doc["tables"].values()]),
    "provenance_is_list": _json_change(lambda doc: doc.__setitem__("provenance", [])),
    "layers_is_string": _json_change(lambda doc: doc.__setitem__("layers", "abc")),
    "output_is_list": _json_change(lambda doc: doc.__setitem__("output", [])),
    "integer_is_number": _json_change(lambda doc: doc.__setitem__("integer", 3)),
}


@pytest.mark.parametrize("case", sorted(ARTIFACT_DAMAGE))
def test_damaged_artifact_is_one_error(mlp_dir, tmp_path, case):
    copy = _copy(mlp_dir, tmp_path)
    ARTIFACT_DAMAGE[case](copy)
    with pytest.raises(HwsimError, match=str(copy)):
        load_artifact(copy)
    _assert_user_error(run_cli("verify", str(copy), timeout=60), str(copy))


def test_npz_reader_refuses_what_numpy_would_allocate(tmp_path):
    _huge_header(tmp_path)
    with pytest.raises(HwsimError, match="limit"):
        read_npz(tmp_path / "model.npz")


# -- cache entries --------------------------------------------------------------------
def test_unreadable_json_cache_entries_are_discarded(tmp_path):
    cache = Cache(tmp_path)
    key = "ab" * 32
    cache.put_json("simulation", key, {"x": 1})
    path = next(tmp_path.rglob(f"{key}.json"))
    for content in ("[" * 100000 + "]" * 100000, '{"a": NaN}', "\xff"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, errors="surrogateescape")
        found = cache.get_json("simulation", key)
        assert not found.hit and "recomputed" in found.note and not path.exists()
    path.mkdir(parents=True)
    found = cache.get_json("simulation", key)
    assert not found.hit and not path.exists()


def test_cache_entry_intact_by_hash_but_unreadable_is_recomputed(tmp_path):
    cache = Cache(tmp_path)
    key = "cd" * 32
    cache.put_files("point", key, {"model.json": b"[]", "model.npz": b""})
    assert cache.get_files("point", key).hit                  # intact by its hashes

    def check(directory):
        load_artifact(directory)
    found = cache.get_files("point", key, check)
    assert not found.hit and "unreadable" in found.note
    assert not cache.get_files("point", key).hit              # discarded


# -- nonsense numbers and work bounded before it starts --------------------------------
@pytest.mark.parametrize("section, key, value", [
    ("cycles", "alu", 1e308), ("battery", "capacity_mah", 1e308),
    ("core", "clock_hz", 2 ** 70), ("memory", "sram_bytes", 2 ** 70),
    ("energy", "sleep_ua", 1e300), ("energy", "supply_v", 1e6),
])
def test_absurd_device_numbers_are_refused(device_data, section, key, value):
    from hwsim.specs.device import device_from_data
    device_data[section][key] = value
    with pytest.raises(HwsimError, match=rf"{section}\.{key}: must be <="):
        device_from_data(device_data, "absurd.yaml")


def test_absurd_shape_only_workload_is_refused_before_work(tmp_path):
    import yaml
    data = yaml.safe_load((REPO / "workloads" / "kws-dscnn.yaml").read_text())
    data["input"]["shape"] = [100000, 100000, 1]
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run_cli("simulate", str(path), "--device", "nrf52840", "--json", timeout=60)
    _assert_user_error(result, "more than the limit of 16,000,000")


def test_validate_max_error_must_be_finite(mlp_dir):
    for bad in ("nan", "inf", "-1"):
        result = run_cli("validate", str(mlp_dir), "--device", "esp32-c3", "--max-error", bad)
        _assert_user_error(result, "--max-error must be a percentage")


def test_compare_frames_bounded(tmp_path):
    _assert_user_error(run_cli("compare", "--frames", str(10 ** 12)), "--frames must be from 1")


def test_report_checks_everything_before_training(tmp_path, monkeypatch):
    from hwsim.report import main_job
    from hwsim.sweep.cache import open_cache

    def no_training(*args, **kwargs):
        raise AssertionError("trained before the checks")
    monkeypatch.setattr(main_job, "_training", no_training)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    plan = main_job.ReportPlan(workloads=("digits-mlp",), devices=("nrf52840",))
    with pytest.raises(HwsimError, match="exists and is not a directory"):
        main_job.run_report(blocker, open_cache(tmp_path / "cache"), plan)
    bad_sweep = main_job.ReportPlan(workloads=("digits-mlp",), devices=("nrf52840",),
                                    sweep_levels=(1,))
    with pytest.raises(HwsimError, match="levels: 1 out of range"):
        main_job.run_report(tmp_path / "out", open_cache(tmp_path / "cache"), bad_sweep)
    result = run_cli("report", "--out", str(blocker), "--cache", str(tmp_path / "cache"))
    _assert_user_error(result, "exists and is not a directory")


def test_extreme_but_allowed_device_gives_finite_json(tmp_path):
    import yaml
    from hwsim.specs import device as D
    data = yaml.safe_load(DEVICE.read_text())
    data["battery"]["capacity_mah"] = D.MAX_CAPACITY_MAH
    data["energy"]["sleep_ua"] = 0
    data["core"]["clock_hz"] = 1_000_000
    for action in data["cycles"]:
        data["cycles"][action] = D.MAX_CYCLES
    path = tmp_path / "extreme.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run_cli("simulate", "digits-mlp", "--device", str(path), "--json",
                     "--frames", "2")
    assert result.returncode == 0, result.stderr

    def refuse(name):
        raise AssertionError(f"{name} in --json output")
    json.loads(result.stdout, parse_constant=refuse)


# -- sweep workers die with their parent -------------------------------------------------
PARENT = """
import os, sys, time
from hwsim.sweep.runner import LocalRunner
with LocalRunner(2) as runner:
    pids = {runner.result(h) for h in [runner.submit(os.getpid) for _ in range(8)]}
    runner.submit(time.sleep, 600)
    print(" ".join(map(str, sorted(pids))), flush=True)
    time.sleep(600)
"""


def test_sweep_workers_exit_when_the_parent_is_killed(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from tests.conftest import cli_env
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE,
                              text=True, env=cli_env())
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert pids and all(_alive(pid) for pid in pids)
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.2)
    left = [pid for pid in pids if _alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"workers {left} outlived their parent"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


# -- results documents: every field replaced by every wrong type ------------------------
def _fuzz_document() -> dict:
    from hwsim.evaluate.crossover import crossover_map
    from hwsim.evaluate.crossover_rows import crossover_rows
    from hwsim.specs.catalog import find_device_or_soc
    from hwsim.specs.workload import load_workload
    from tests.dashboard_documents import compare_rows, details, product_rows
    from hwsim.results.document import results_document
    rows = compare_rows()[:2]
    sweep = [{**r, "activation_levels": 8, "weight_clusters": 16, "metric": "accuracy",
              "continuous": 0.9, "discretized": 0.9, "integer": 0.9, "agreement": 1.0,
              "bit_exact": True, "weight_bytes": 100, "float32_weight_bytes": 400}
             for r in rows]
    training = [{"workload": "digits-mlp", "activation_levels": 8, "weight_clusters": 16,
                 "metrics": {"metric": "accuracy", "continuous": 0.9, "discretized": 0.9,
                             "integer": 0.9}}]
    crossover = crossover_rows(crossover_map(load_workload("har-cnn"),     # one SoC core
                                             [find_device_or_soc("nordic-nrf5340")], (2,), (4,)))[:1]
    crossover[0]["classes"] = {}      # no panel draws them (their check: test_crossover.py)
    return json.loads(json.dumps(results_document(compare=rows, details=details()[:1],
                                                  sweep=sweep, training=training,
                                                  products=product_rows()[:2],
                                                  crossover=crossover)))


def test_every_wrongly_typed_results_field_is_one_error(tmp_path):
    import copy
    from hwsim.dashboard.page import build_panels, write_dashboard
    from hwsim.results.document import check_results
    document = _fuzz_document()
    write_dashboard(check_results(document, "x.json"), tmp_path / "ok", source="x.json")
    assert all(panel.figure is not None for panel in build_panels(document))
    paths = []

    def walk(node, path):
        paths.append(path)
        children = node.items() if isinstance(node, dict) else \
            enumerate(node[:1]) if isinstance(node, list) else ()
        for key, child in children:
            walk(child, path + [key])
    walk(document, [])
    unexpected = []
    for path in paths[1:]:
        for wrong in ([], "x", None):
            changed = copy.deepcopy(document)
            node = changed
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = wrong
            try:
                build_panels(check_results(changed, "x.json"))   # every figure the page draws
            except HwsimError:
                pass
            except Exception as exc:          # noqa: BLE001 - what this test looks for
                unexpected.append((path, wrong, f"{type(exc).__name__}: {exc}"))
    assert not unexpected, unexpected[:5]
