"""Scenario samplers: pure functions of a PRNG key that return reward tables (FOL, MAB, NS-MAB)."""

from rmft_jax.envs.bandit import (
    BANDIT_SCENARIOS,
    BanditScenario,
    FixedMAB,
    GapMAB,
    RandomMAB,
    draw_rewards,
    easy_instance,
    hard_instance,
    make_bandit,
)
from rmft_jax.envs.common import sample_batch
from rmft_jax.envs.fol import (
    FOL_SCENARIOS,
    FTLAdversarialFOL,
    GaussianFOL,
    LinearTrendFOL,
    MixtureFOL,
    SineTrendFOL,
    StochasticFOL,
    UniformFOL,
    make_fol,
    sample_rollout_tables,
)
from rmft_jax.envs.nonstationary import (
    NSMAB_SCENARIOS,
    AbruptNSMAB,
    NSBanditScenario,
    SmoothNSMAB,
    make_nsmab,
    variation,
)

__all__ = [
    "BANDIT_SCENARIOS",
    "BanditScenario",
    "FixedMAB",
    "GapMAB",
    "RandomMAB",
    "draw_rewards",
    "easy_instance",
    "hard_instance",
    "make_bandit",
    "sample_batch",
    "FOL_SCENARIOS",
    "FTLAdversarialFOL",
    "GaussianFOL",
    "LinearTrendFOL",
    "MixtureFOL",
    "SineTrendFOL",
    "StochasticFOL",
    "UniformFOL",
    "make_fol",
    "sample_rollout_tables",
    "NSMAB_SCENARIOS",
    "AbruptNSMAB",
    "NSBanditScenario",
    "SmoothNSMAB",
    "make_nsmab",
    "variation",
]
