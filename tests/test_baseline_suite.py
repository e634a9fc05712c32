"""The baseline suite (`experiments.baselines`): every reference is run, labelled by kind, and the best of each kind
named."""

import json
import os

import pytest

from experiments.configs import baselines as baselines_config
from rmft_jax.studies import baseline_suite
from tests import number_fixture


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    """The suite's smoke run: the one the number fixture checks (`experiments.baselines`, run once per session in
    the shared runs directory), or run here when the session has none."""
    shared = os.environ.get("RMFT_JAX_TEST_RUNS")
    if shared:
        with open(number_fixture.run_shared(number_fixture.SMOKE_RUNS, shared, "baselines")) as fh:
            return json.load(fh)
    workdir = tmp_path_factory.mktemp("baselines")
    results = baseline_suite.run(baselines_config.get_config("smoke"), str(workdir), log=lambda line: None)
    with open(workdir / "results.json") as fh:
        assert json.load(fh)["fol"]["methods"].keys() == results["fol"]["methods"].keys()
    return results


def test_fol_references_and_the_bayes_limit(smoke_results):
    fol = smoke_results["fol"]
    methods, kinds = fol["methods"], fol["kinds"]
    assert {"adahedge", "flipflop", "optimistic_hedge_tuned", "bayes", "hedge_tuned"} <= set(methods)
    assert kinds["adahedge"] == "prior_free" and kinds["hedge_tuned"] == "tuned_in_sample" and kinds["bayes"] == "bayes"
    prior_free = {n: m["regret"] for n, m in methods.items() if kinds[n] == "prior_free"}
    assert fol["best_prior_free"]["name"] == min(prior_free, key=prior_free.get)
    # The Bayes policy is optimal in expectation: below every other method on the same draws (up to noise).
    assert all(methods["bayes"]["regret"] <= m["regret"] + m["regret_ci95"] for n, m in methods.items())


@pytest.mark.parametrize("setting", ["mab", "nsmab"])
def test_bandit_kinds_best_prior_free_and_limit(smoke_results, setting):
    r = smoke_results[setting]
    kinds, methods = r["kinds"], r["methods"]
    assert set(kinds) == set(methods)
    assert "informed" in kinds.values() and r["limit"]["name"] in methods and kinds[r["limit"]["name"]] == "informed"
    best = min((n for n in methods if kinds[n] == "prior_free"), key=lambda n: methods[n]["regret"])
    assert r["best_prior_free"]["name"] == best
    if setting == "nsmab":
        assert kinds["ucb1_restart"] == "oracle"  # never counted as prior-free
