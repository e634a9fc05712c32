"""Classical baselines on FOL, MAB and NS-MAB scenarios. Variants: '' (all), 'fol', 'mab', 'nsmab', 'smoke'."""

import ml_collections


def get_config(variant: str = "") -> ml_collections.ConfigDict:
    """Default config; `--config=experiments/configs/baselines.py:VARIANT` picks a variant."""
    c = ml_collections.ConfigDict()
    c.seed = 0
    c.settings = ("fol", "mab", "nsmab")

    # Full information: a mixture of reward processes, one on which FTL has linear regret.
    c.fol = ml_collections.ConfigDict()
    c.fol.horizon = 100
    c.fol.num_actions = 5
    c.fol.num_sequences = 4096
    c.fol.scenarios = ("stochastic", "ftl_adversarial", "sine_trend")
    c.fol.weights = (0.5, 0.25, 0.25)
    c.fol.eta_grid = (0.03, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

    # Stochastic MAB: Krishnamurthy et al.'s hard instance, best arm at a random position.
    c.mab = ml_collections.ConfigDict()
    c.mab.instance = "hard"  # hard (K=5, gap 0.2), easy (K=4, gap 0.5) or random (means ~ U[0,1])
    c.mab.horizon = 100
    c.mab.num_runs = 2000
    # Prior-free algorithms, then the informed policies on the exact posterior of the MAB training prior
    # (gap ~ U[0.1, 0.5]).
    c.mab.algorithms = (
        "ucb1",
        "thompson",
        "greedy",
        "eps_greedy",
        "exp3",
        "kl_ucb",
        "moss",
        "tsallis_inf",
        "gap_bayes_greedy",
        "gap_bayes_thompson",
        "gap_bayes_kg",
    )

    # Non-stationary MAB: abrupt changes under a variation budget.
    c.nsmab = ml_collections.ConfigDict()
    c.nsmab.kind = "abrupt"  # abrupt or smooth
    c.nsmab.num_actions = 5
    c.nsmab.horizon = 200
    c.nsmab.variation_budget = 2.0
    c.nsmab.num_runs = 1000
    # Prior-free algorithms, the oracles restarted at the true change points, and the particle-filter policies.
    c.nsmab.algorithms = (
        "ucb1",
        "thompson",
        "exp3",
        "sw_ucb",
        "d_ucb",
        "kl_ucb",
        "discounted_thompson",
        "ucb1_restart",
        "thompson_restart",
        "abrupt_bayes_greedy",
        "abrupt_bayes_thompson",
        "abrupt_bayes_kg",
    )

    if variant in ("fol", "mab", "nsmab"):
        c.settings = (variant,)
    elif variant == "smoke":
        c.fol.horizon, c.fol.num_sequences = 30, 64
        c.fol.eta_grid = (0.1, 1.0)
        c.mab.horizon, c.mab.num_runs = 30, 64
        c.nsmab.horizon, c.nsmab.num_runs = 40, 64
        c.mab.algorithms = ("ucb1", "thompson", "kl_ucb", "gap_bayes_greedy")
        c.nsmab.algorithms = ("ucb1", "sw_ucb", "ucb1_restart", "abrupt_bayes_greedy")
    elif variant:
        raise ValueError(f"unknown variant {variant!r}; choose one of '', 'fol', 'mab', 'nsmab', 'smoke'.")
    return c
