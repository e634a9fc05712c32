"""Worst-case regret of FOL policies: gradient search over reward tables and adaptive adversaries."""

from rmft_jax.attacks.adaptive import ACTION_ADAPTIVE, ADVERSARIES, POLICY_ADAPTIVE, AdversaryView, play
from rmft_jax.attacks.gradient import GradientBudget, gradient_attack, signed_gradient_tables, table_regret
from rmft_jax.attacks.worst_case import AttackBudget, growth_exponent, worst_case_regret

__all__ = [
    "ACTION_ADAPTIVE",
    "ADVERSARIES",
    "POLICY_ADAPTIVE",
    "AdversaryView",
    "play",
    "GradientBudget",
    "gradient_attack",
    "signed_gradient_tables",
    "table_regret",
    "AttackBudget",
    "growth_exponent",
    "worst_case_regret",
]
