"""Training paradigms side by side (python -m experiments.paradigms). Variants: '' (default), 'shared',
'transformer', 'smoke'.

'' : FOL: single-layer linear attention, settings mix / stochastic / trends, six arms
     (rmft_jax/studies/paradigm_study.py: ARMS), 5 seeds, the FOL default loop (M 256, L 16, k 2, T 50, A 5, 120
     iterations of 50 gradient steps);
     bandits: the studies mab_paradigms and nsmab_paradigms (rmft_jax/studies/bandit_study.py: STUDIES) on the
     bandit default loop (M 256, L 16, k 4, T 100, 60 iterations of 50 steps; distillation and the policy gradient
     train on k random of the L rollouts: paradigm.rows='k'), 5 seeds, with transfer to 2T, 4T and the other task;
'shared': the FOL half with the action-count-free shared model, also tested at A = 3 and 10 (no bandit half);
'transformer': the FOL half with the 2-layer transformer of fol_multi_layer.py and its loop (40 iterations of 20
     steps, lr 1e-3, clip 1), on the mix only (its cost: about 6 min per paradigm for 5 seeds; no bandit half);
'smoke': tiny, for tests.
"""

import ml_collections

from experiments.configs import fol_multi_layer, fol_single_layer, mab, nsmab
from rmft_jax.studies import fol_study, paradigm_study


def get_config(variant: str = "") -> ml_collections.ConfigDict:
    """Base FOL config, seeds, the study's settings, arms, transfer tests and attack budget."""
    c = ml_collections.ConfigDict()
    c.fol = fol_single_layer.base_config()
    c.seeds = (0, 1, 2, 3, 4)
    s = c.study = ml_collections.ConfigDict()
    s.settings = tuple(paradigm_study.SETTINGS)
    s.arms = tuple(paradigm_study.ARMS)
    s.horizon_factors = (2, 4)  # transfer to 2T and 4T
    s.processes = fol_study.HELD_OUT_PROCESSES  # transfer to held-out reward processes at T
    s.transfer_scenarios = 1024
    s.num_actions = ()  # transfer to other action counts: only an A-free model (variant 'shared') can be tested
    # The worst case at T per seed: the end-of-run check's budget (a lower bound, as every search).
    s.attack = ml_collections.ConfigDict(
        {"restarts": 32, "steps": 200, "learning_rate": 0.1, "init_scale": 2.0, "temperature": 0.05, "samples": 128}
    )
    c.bandit_studies = ("mab_paradigms", "nsmab_paradigms")
    c.mab, c.nsmab = mab.get_config(), nsmab.get_config()
    for task in (c.mab, c.nsmab):
        task.eval.num_scenarios = 1000  # held-out draws per arm (the bandit experiments' own runs use 2000)
        task.eval.every = 20
        task.eval.transfer = ("2T", "4T", "other_task")  # rmft_jax/tasks/bandit/transfer.py
    if variant == "shared":
        c.fol.model.name = "shared_linear_attention"
        s.num_actions = (3, 10)
        c.bandit_studies = ()
    elif variant == "transformer":
        c.fol = fol_multi_layer.get_config()
        s.settings = ("mix",)
        c.bandit_studies = ()
    elif variant == "smoke":
        c.fol = fol_single_layer.apply_variant(c.fol, "smoke")
        c.seeds = (0, 1)
        s.settings = ("mix", "stochastic")
        s.horizon_factors, s.processes, s.transfer_scenarios = (2,), ("uniform",), 32
        s.attack.restarts, s.attack.steps, s.attack.samples = 4, 10, 8
        c.bandit_studies = ("mab_paradigms",)
        c.mab = mab.get_config("smoke")
        c.mab.rmft.num_iterations = 2
        c.mab.eval.transfer = ("2T", "other_task")
    elif variant:
        raise ValueError(f"unknown variant {variant!r}; choose '', 'shared', 'transformer' or 'smoke'.")
    return c
