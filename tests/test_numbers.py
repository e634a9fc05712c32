"""Every experiment's smoke run regenerates the numbers recorded before the one-driver refactor (the fixture).

The fixture (tests/fixtures/numbers_*.json, written by `python -m tests.number_fixture --record`) holds each
command's output JSON without timings, paths and the config. A later change that alters floats on purpose keeps
its old path behind a config switch, and this test keeps passing on that path.
"""

import json
import os
import tempfile

import pytest

from tests import number_fixture

SLOW = {"paradigms"}  # over a minute on 2 cores
CASES = [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in number_fixture.SMOKE_RUNS]
# Relative tolerance: bit-for-bit on this machine; a little room for another CPU's vector instructions.
RTOL = 1e-6


def check(runs: dict, path: str, name: str) -> None:
    """Run `name` (and the runs it reads) and compare its numbers with the fixture file. In the test session the
    runs go to its shared directory (conftest), once each, so tests reading the same smoke run share it."""
    expected = number_fixture.load(path)[name]
    shared = os.environ.get("RMFT_JAX_TEST_RUNS")
    if shared:
        with open(number_fixture.run_shared(runs, shared, name)) as fh:
            got = number_fixture.strip(json.load(fh))
    else:
        with tempfile.TemporaryDirectory() as root:
            got = number_fixture.run_all(runs, root, (name,))[name]
    diffs = number_fixture.differences(expected, got, rtol=RTOL)
    assert not diffs, f"{name}: {len(diffs)} numbers moved, e.g.\n" + "\n".join(diffs[:10])


@pytest.mark.parametrize("name", CASES)
def test_smoke_run_regenerates_the_recorded_numbers(name):
    check(number_fixture.SMOKE_RUNS, number_fixture.SMOKE_PATH, name)


@pytest.mark.slow
def test_headline_run_regenerates_the_recorded_numbers():
    check(number_fixture.HEADLINE_RUNS, number_fixture.HEADLINE_PATH, "headline")


def test_the_comparison_catches_a_moved_number():
    assert number_fixture.differences({"a": [1.0, 2.0]}, {"a": [1.0, 2.0 + 1e-3]}, rtol=RTOL)
    assert not number_fixture.differences({"a": 1.0, "seconds": 3.0}, {"a": 1.0, "seconds": 3.0}, rtol=RTOL)
    assert number_fixture.strip({"x": 1, "train_seconds": 2, "config": {}}) == {"x": 1}
