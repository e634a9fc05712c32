"""The paper's study: FOL ablations and generalization, bandit ablations, seeds.

Variants: '' (default), 'smoke', 'fol' (FOL only), 'bandit' (bandit only), 'actions' (transfer across
the action count with the A-free shared model; its own workdir, runs/ablations_actions), 'selection' (regret vs
reward on FOL with per-rollout comparators: independent draws, adaptive adversaries; runs/ablations_selection).

`fol` is the single-layer FOL config every FOL arm starts from (rmft_jax/studies/fol_study.py: STUDIES holds the
arms); every FOL arm trains `seeds` in one compiled call. `mab` / `nsmab` are the bandit base configs
(rmft_jax/studies/bandit_study.py: STUDIES); bandit arms train the same seeds (consecutive), scratch init only.
"""

import ml_collections

from experiments.configs import fol_single_layer, mab, nsmab
from rmft_jax.studies import fol_study


def get_config(variant: str = "") -> ml_collections.ConfigDict:
    """Default: five FOL studies + generalization + three bandit studies, five seeds; ':smoke' for tests."""
    c = ml_collections.ConfigDict()
    c.fol = fol_single_layer.base_config()
    c.studies = ("iteration", "selection_adversarial", "selection_trends", "selection_stochastic", "target")
    c.seeds = (0, 1, 2, 3, 4)
    c.generalization = ml_collections.ConfigDict()
    c.generalization.enabled = True
    c.generalization.horizons = (100, 200)  # 2T and 4T of the trained T = 50
    c.generalization.processes = fol_study.HELD_OUT_PROCESSES
    c.generalization.num_scenarios = 1024
    c.generalization.num_actions = ()  # other A, with the A-free shared model (variant 'actions')
    c.bandit_studies = ("mab_iteration", "mab_selection", "nsmab_selection")
    c.mab, c.nsmab = mab.get_config(), nsmab.get_config()
    for task in (c.mab, c.nsmab):
        task.eval.num_scenarios = 1000  # per arm; the experiments' own runs use 2000
        task.eval.every = 20
    if variant == "smoke":
        c.fol = fol_single_layer.apply_variant(c.fol, "smoke")
        c.studies = ("iteration", "shared_model")
        c.seeds = (0, 1)
        c.generalization.num_actions = (3,)
        c.generalization.horizons = (24,)
        c.generalization.processes = ("uniform",)
        c.generalization.num_scenarios = 32
        c.bandit_studies = ("mab_iteration",)
        c.mab, c.nsmab = mab.get_config("smoke"), nsmab.get_config("smoke")
        c.mab.rmft.num_iterations = 2
    elif variant == "actions":  # transfer across the action count: the shared model, trained at A = 5
        c.studies = ("shared_model",)
        c.generalization.horizons, c.generalization.processes = (), ()
        c.generalization.num_actions = (3, 10)
        c.bandit_studies = ()
    elif variant == "selection":  # regret vs reward where the comparator varies per rollout (FOL)
        c.studies = ("selection_independent", "selection_adaptive")
        c.generalization.enabled = False
        c.bandit_studies = ()
    elif variant == "fol":
        c.bandit_studies = ()
    elif variant == "bandit":
        c.studies = ()
        c.generalization.enabled = False
    elif variant:
        raise ValueError(f"unknown variant {variant!r}; choose '', 'smoke', 'fol', 'bandit', 'actions' or 'selection'.")
    return c
