"""The content-addressed cache: keys, atomic entries, corruption detection."""
from __future__ import annotations

import json
import os

import pytest

from hwsim.sweep.cache import Cache, canonical_json, default_cache_dir, key_of, open_cache
from hwsim.errors import HwsimError


def test_key_is_sha256_of_canonical_json():
    a = {"kind": "simulation", "style": "lut", "options": {"b": 1, "a": [1, 2.5, None]}}
    b = {"options": {"a": [1, 2.5, None], "b": 1}, "style": "lut", "kind": "simulation"}
    assert canonical_json(a) == '{"kind":"simulation","options":{"a":[1,2.5,null],"b":1},' \
                                '"style":"lut"}'
    assert key_of(a) == key_of(b) and len(key_of(a)) == 64
    assert key_of(a) != key_of({**a, "style": "int8"})


def test_key_refuses_what_json_cannot_say():
    with pytest.raises(TypeError, match="plain JSON"):
        key_of({"x": float("nan")})
    with pytest.raises(TypeError, match="plain JSON"):
        key_of({"x": object()})


def test_json_entry_round_trip_keeps_key_order(tmp_path):
    cache = open_cache(tmp_path / "c")
    key = key_of({"n": 1})
    assert not cache.get_json("simulation", key).hit
    payload = {"workload": "w", "device": "d", "style": "lut", "cycles": 12, "fits": True}
    path = cache.put_json("simulation", key, payload, inputs={"n": 1})
    assert path == tmp_path / "c" / "simulation" / key[:2] / f"{key}.json"
    found = cache.get_json("simulation", key)
    assert found.hit and found.note is None
    assert list(found.value) == list(payload) and found.value == payload
    doc = json.loads(path.read_text())
    assert doc["inputs"] == {"n": 1} and doc["key"] == key


def test_files_entry_round_trip(tmp_path):
    cache = open_cache(tmp_path)
    key = key_of("artifact")
    directory = cache.put_files("point", key, {"model.json": b"{}", "model.npz": b"\x00\x01"})
    assert cache.get_files("point", key).value == directory
    assert (directory / "model.npz").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in directory.iterdir()) == ["entry.json", "model.json",
                                                           "model.npz"]
    # A second writer of the same key keeps the intact entry.
    assert cache.put_files("point", key, {"model.json": b"{}", "model.npz": b"\x00\x01"}) \
        == directory
    assert cache.temp_entries() == []


def _flip(path, offset=-5):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x55
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "swap"])
def test_corrupt_json_entry_is_detected_and_removed(tmp_path, damage):
    cache = open_cache(tmp_path)
    key = key_of(["k", damage])
    path = cache.put_json("simulation", key, {"cycles": 123456, "device": "nrf52840"})
    text = path.read_text()
    if damage == "flip":
        path.write_text(text.replace("123456", "123457"))
    elif damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\xff\xfe not json")
    else:   # another key's (valid) entry under this name
        other = cache.put_json("simulation", key_of("other"), {"cycles": 1})
        os.replace(other, path)
    found = cache.get_json("simulation", key)
    assert not found.hit
    assert f"simulation/{key[:12]} was corrupt" in found.note and "recomputed" in found.note
    assert not path.exists()
    assert cache.get_json("simulation", key).note is None      # reported once


@pytest.mark.parametrize("damage", ["flip", "missing", "manifest"])
def test_corrupt_files_entry_is_detected(tmp_path, damage):
    cache = open_cache(tmp_path)
    key = key_of(["files", damage])
    directory = cache.put_files("point", key, {"model.json": b'{"a": 1}',
                                               "model.npz": bytes(range(200))})
    if damage == "flip":
        _flip(directory / "model.npz")
    elif damage == "missing":
        (directory / "model.json").unlink()
    else:
        (directory / "entry.json").write_text("{")
    found = cache.get_files("point", key)
    assert not found.hit and "was corrupt" in found.note
    assert not directory.exists()
    # and it can be written again
    cache.put_files("point", key, {"model.json": b'{"a": 1}', "model.npz": bytes(range(200))})
    assert cache.get_files("point", key).hit


def test_put_replaces_a_corrupt_files_entry(tmp_path):
    cache = open_cache(tmp_path)
    key = key_of("replace")
    directory = cache.put_files("point", key, {"a": b"1"})
    _flip(directory / "a", 0)
    cache.put_files("point", key, {"a": b"1"})
    assert cache.get_files("point", key).hit
    assert (directory / "a").read_bytes() == b"1"


def test_a_killed_writer_leaves_no_entry(tmp_path):
    """A temporary entry that never got renamed is invisible to readers."""
    cache = open_cache(tmp_path)
    key = key_of("half")
    half = tmp_path / "tmp" / "entry-dead"
    half.mkdir()
    (half / "model.json").write_bytes(b"{")
    assert not cache.get_files("point", key).hit
    assert cache.temp_entries() == [half]


def test_default_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.delenv("HWSIM_CACHE", raising=False)
    assert str(default_cache_dir()) == ".hwsim-cache"
    monkeypatch.setenv("HWSIM_CACHE", str(tmp_path / "env-cache"))
    assert default_cache_dir() == tmp_path / "env-cache"
    assert open_cache().root == tmp_path / "env-cache"
    assert (tmp_path / "env-cache" / "CACHEDIR.TAG").is_file()


def test_unusable_cache_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HwsimError, match="cannot use as the cache directory"):
        open_cache(blocker)


def test_bad_kind_or_key_is_a_bug():
    cache = Cache(root=None)
    with pytest.raises(ValueError):
        cache.get_json("simulation", "../../etc")
