"""Worst-case regret study of an FOL workdir (python -m experiments.attack). Variants: '' (default), 'smoke', 'long'."""

import ml_collections


def get_config(variant: str = "") -> ml_collections.ConfigDict:
    """Budget, horizons (multiples of the training horizon) and methods; 'long' adds T up to 8 T_train."""
    c = ml_collections.ConfigDict()
    c.seed = 0
    c.restarts = 64  # gradient-search restarts, run in parallel
    c.steps = 300  # Adam steps per restart
    c.learning_rate = 0.1
    c.init_scale = 2.0  # std of the random starting sigmoid logits
    c.temperature = 0.05  # smoothed max of the comparator (gradient only; reported regret uses the exact max)
    c.samples = 256  # sampled paths per action-adaptive adversary
    c.horizon_factors = (0.5, 1.0, 2.0, 4.0)
    # adahedge and flipflop are parameter-free; bayes is the Bayes policy of the training mix (its on-distribution
    # optimum), so its worst case is what being optimal on the training distribution costs against an adversary.
    c.methods = (
        "model",
        "hedge_tuned",
        "hedge_theory",
        "hedge_anytime",
        "ftl",
        "l2_ftrl",
        "adahedge",
        "flipflop",
        "bayes",
    )
    if variant == "smoke":
        c.restarts, c.steps, c.samples = 4, 10, 8
        c.horizon_factors = (0.5, 1.0)
    elif variant == "long":
        c.horizon_factors = (0.5, 1.0, 2.0, 4.0, 8.0)
    elif variant:
        raise ValueError(f"unknown variant {variant!r}; choose '', 'smoke' or 'long'.")
    return c
