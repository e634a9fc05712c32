"""The paper's study on FOL: ablations, generalization, seeds. Variants: '' (default), 'smoke'.

`fol` is the single-layer FOL config every arm starts from (rmft_jax/fol_study.py: STUDIES holds the
arms); every arm trains `seeds` in one compiled call.
"""
import ml_collections

from experiments.configs import fol_single_layer
from rmft_jax import fol_study


def get_config(variant: str = "") -> ml_collections.ConfigDict:
    """Default: five studies x five seeds plus generalization; ':smoke' for tests."""
    c = ml_collections.ConfigDict()
    c.fol = fol_single_layer.base_config()
    c.studies = ("iteration", "selection_adversarial", "selection_trends", "selection_stochastic", "target")
    c.seeds = (0, 1, 2, 3, 4)
    c.generalization = ml_collections.ConfigDict()
    c.generalization.enabled = True
    c.generalization.horizons = (100, 200)  # 2T and 4T of the trained T = 50
    c.generalization.processes = fol_study.HELD_OUT_PROCESSES
    c.generalization.num_scenarios = 1024
    if variant == "smoke":
        c.fol = fol_single_layer.apply_variant(c.fol, "smoke")
        c.studies = ("iteration",)
        c.seeds = (0, 1)
        c.generalization.horizons = (24,)
        c.generalization.processes = ("uniform",)
        c.generalization.num_scenarios = 32
    elif variant:
        raise ValueError(f"unknown variant {variant!r}; choose '' or 'smoke'.")
    return c
