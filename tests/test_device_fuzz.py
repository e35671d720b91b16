"""Property: a randomly corrupted valid spec yields a Device or a SpecError, never
any other exception, and a SpecError always names at least one problem."""
from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings, strategies as st

from hwsim.specs.device import device_from_data
from hwsim.errors import SpecError
from hwsim.specs.yaml_reader import parse_yaml, read_yaml
from tests.conftest import REPO

VALID = read_yaml(REPO / "devices" / "nrf52840.yaml")
VALID_TEXT = (REPO / "devices" / "nrf52840.yaml").read_text()

junk = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                 st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4),
                                                                       st.integers(), max_size=2))


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, prefix + (index,))


ALL_PATHS = [p for p in _paths(VALID) if p]


@st.composite
def corrupted(draw):
    data = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 6))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["delete", "replace", "add"]))
            if action == "delete":
                del parent[path[-1]]
            elif action == "replace":
                parent[path[-1]] = draw(junk)
            elif isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=6))] = draw(junk)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier corruption removed or replaced this path
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corrupted())
def test_corrupted_mapping_gives_only_spec_errors(data):
    try:
        device_from_data(data, "fuzz.yaml")
    except SpecError as exc:
        assert exc.problems
        assert all(line.lstrip().startswith("fuzz.yaml") for line in str(exc).splitlines())


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(VALID_TEXT) - 1), st.text(max_size=5), st.integers(0, 8))
def test_corrupted_text_gives_only_spec_errors(position, insert, cut):
    text = VALID_TEXT[:position] + insert + VALID_TEXT[position + cut:]
    try:
        device_from_data(parse_yaml(text, "fuzz.yaml"), "fuzz.yaml")
    except SpecError as exc:
        assert exc.problems
