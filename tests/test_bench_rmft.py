"""The straightforward baseline of benchmarks/bench_rmft.py computes what our iteration computes."""

import numpy as np
import pytest

from benchmarks import rmft_phases
from experiments.configs import fol_single_layer


def test_naive_baseline_agrees_with_ours_on_policies_and_loss():
    cfg = fol_single_layer.get_config("smoke")
    got = rmft_phases.agreement(cfg)
    assert got["same_rewards"]
    assert got["max_abs_policy_logit_diff"] < 1e-5  # per-round prefix passes == one causal pass
    assert got["naive_sft_loss"] == pytest.approx(got["ours_sft_loss"], rel=1e-5)  # M*k batch == mean target
    # Different random draws, same policies: mean rollout regrets agree statistically.
    assert abs(got["naive_rollout_regret"] - got["ours_rollout_regret"]) < 0.25 * got["ours_rollout_regret"]
    assert np.isfinite(got["naive_rollout_regret"])


def test_the_transformer_profile_counts_the_large_values_of_compiled_hlo():
    from benchmarks.profile_transformer_sft import large_values

    hlo = "a = f32[1000,1000] add(x, y)\nb = f32[1000,1000] mul(a, a)\nc = f32[10,10] neg(b)\nd = f32[2000,1000] exp(b)"
    rows = large_values(hlo)
    # Sorted by the traffic they stand for (values x size): 2 x 4 MB ties 1 x 8 MB, so compare as a set.
    assert {(tuple(r["shape"]), r["values"]) for r in rows} == {((1000, 1000), 2), ((2000, 1000), 1)}
    assert all(r["mbytes_each"] in (4.0, 8.0) for r in rows)
