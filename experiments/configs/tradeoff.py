"""The trade-off study (python -m experiments.tradeoff): adversarial share vs on-distribution and worst-case regret.

Variants: '' (default: single layer at shares 0, 0.1, 0.33, 0.67 x 5 seeds; the transformer at 0 and
0.33 x 2 seeds, scaled down for the 2-core CPU), 'single' / 'transformer' (one model's arms), 'smoke' (tests).
"""

import ml_collections

from experiments.configs import fol_multi_layer, fol_single_layer


def get_config(variant: str = "") -> ml_collections.ConfigDict:
    """Base FOL config, seeds, the arms per model and the attack budget."""
    c = ml_collections.ConfigDict()
    c.fol = fol_single_layer.base_config()
    c.seeds = (0, 1, 2, 3, 4)
    c.models = ml_collections.ConfigDict()
    c.models.linear_attention = ml_collections.ConfigDict({"shares": (0.0, 0.1, 0.33, 0.67), "num_seeds": 5})
    transformer = fol_multi_layer.get_config()
    c.models.transformer = ml_collections.ConfigDict({"shares": (0.0, 0.33), "num_seeds": 2})
    c.models.transformer.config = ml_collections.ConfigDict(
        {"model": transformer.model, "rmft": transformer.rmft, "sft": transformer.sft}
    )
    c.attack = ml_collections.ConfigDict(
        {
            "restarts": 64,
            "steps": 300,
            "learning_rate": 0.1,
            "init_scale": 2.0,
            "temperature": 0.05,
            "samples": 256,
            "seed": 0,
        }
    )
    if variant in ("single", "smoke"):
        del c.models["transformer"]
    if variant == "transformer":
        del c.models["linear_attention"]
    if variant == "smoke":
        c.fol = fol_single_layer.apply_variant(c.fol, "smoke")
        c.seeds = (0, 1)
        c.models.linear_attention.shares, c.models.linear_attention.num_seeds = (0.0, 0.5), 2
        c.attack.restarts, c.attack.steps, c.attack.samples = 4, 10, 8
    elif variant not in ("", "single", "transformer"):
        raise ValueError(f"unknown variant {variant!r}; choose '', 'single', 'transformer' or 'smoke'.")
    return c
