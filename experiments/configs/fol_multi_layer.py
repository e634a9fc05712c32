"""Iterative RMFT on FOL with a multi-layer softmax transformer.

Variants: the single layer's (smoke, distill_bayes, ...).
"""

import ml_collections

from experiments.configs import fol_single_layer


def get_config(variant: str = "") -> ml_collections.ConfigDict:
    """Default config; `--config=experiments/configs/fol_multi_layer.py:smoke` for the smoke variant."""
    c = fol_single_layer.base_config()
    c.model = ml_collections.ConfigDict()
    c.model.name = "transformer"
    c.model.num_layers = 2
    c.model.num_heads = 2
    c.model.d_model = 32
    c.model.mlp_ratio = 4
    c.model.norm = "layernorm"
    c.model.positions = "none"
    c.rmft.num_iterations = 40
    c.sft.num_steps = 20
    c.sft.learning_rate = 1e-3
    c.sft.grad_clip = 1.0
    return fol_single_layer.apply_variant(c, variant)
