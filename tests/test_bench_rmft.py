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
