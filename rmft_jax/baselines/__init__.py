"""Classical baselines: full-information FTRL / FTL and bandit algorithms."""

from rmft_jax.baselines import (  # noqa: F401  (registers the informed policies)
    bandit_bayes,
    bandit_references,  # noqa: F401  (registers the classical references)
    nsmab_bayes,
)
from rmft_jax.baselines.bandits import ALGORITHMS, run_bandit
from rmft_jax.baselines.full_info import (
    REGULARIZERS,
    SCHEDULES,
    cumulative_before,
    ftl,
    ftrl,
    hedge,
    hedge_regret,
    hedge_theory_eta,
    project_to_simplex,
)

__all__ = [
    "ALGORITHMS",
    "REGULARIZERS",
    "SCHEDULES",
    "cumulative_before",
    "ftl",
    "ftrl",
    "hedge",
    "hedge_regret",
    "hedge_theory_eta",
    "project_to_simplex",
    "run_bandit",
]
