"""Iterative RMFT on non-stationary MAB (abrupt changes, K = 5, T = 100). Variants: '' (default), 'smoke',
'transformer', 'distill_bayes'.

Training and held-out instances come from the same distribution (4 change points, variation budget
2); selection is by dynamic regret (regret against each round's best arm).
"""

import ml_collections

from experiments.configs import mab


def get_config(variant: str = "") -> ml_collections.ConfigDict:
    """Default config; `--config=experiments/configs/nsmab.py:smoke` for the smoke variant."""
    c = mab.base_config()
    c.task = "nsmab"
    c.env = ml_collections.ConfigDict()
    c.env.name = "abrupt"
    c.env.horizon = 100
    c.env.num_actions = 5
    c.env.variation_budget = 2.0
    c.env.num_changes = 4
    c.eval.env = ml_collections.ConfigDict()
    c.eval.env.name = "abrupt"
    c.eval.env.variation_budget = 2.0
    c.eval.env.num_changes = 4
    c.inits.greedy = 0
    c.eval.baselines = ("ucb1", "thompson", "greedy", "exp3", "sw_ucb", "d_ucb")
    # Oracles (restarted at the true change points) are upper references, not algorithms; the abrupt_bayes policies
    # run a particle filter of the training process (cfg.env).
    c.eval.references = (
        "kl_ucb",
        "discounted_thompson",
        "ucb1_restart",
        "thompson_restart",
        "abrupt_bayes_greedy",
        "abrupt_bayes_thompson",
        "abrupt_bayes_kg",
        "eps_greedy",
    )
    if variant == "greedy_sweep":
        raise ValueError("variant 'greedy_sweep' is MAB only; choose '', 'smoke', 'transformer' or 'distill_bayes'.")
    c = mab.apply_variant(c, variant)
    if variant in ("smoke", "transformer"):
        c.inits.greedy = 0
    return c
