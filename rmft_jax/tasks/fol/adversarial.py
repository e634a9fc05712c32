"""The non-oblivious share of an FOL iteration's M scenarios ("adversarial RMFT").

The config section `adversary` splits the M scenarios three ways:
  * oblivious draws of `env` (the rest), on the fast one-pass path;
  * `attack_share`: tables made by `attack_steps` signed-gradient ascent steps of the attack
    (`rmft_jax.attacks`) on the current parameters' regret, from random starts; the tables are
    fixed during the rollouts, so they also take the one-pass path;
  * `adaptive_share`: adaptive adversaries (`kinds`, drawn per scenario) that see the learner each
    round, played with the models' recurrent form (`rmft_jax.tasks.fol.sequential`); a round is
    adversarial with probability q ~ U[adversary_prob], else a uniform random reward vector.
Old configs without the section train as before (every share 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from rmft_jax import _checks
from rmft_jax.attacks import adaptive, gradient

DEFAULTS = {
    "adaptive_share": 0.0,
    "attack_share": 0.0,
    "kinds": ("least_likely", "all_but_most_likely"),
    "adversary_prob": (0.5, 1.0),
    "attack_steps": 20,
    "attack_step_size": 0.5,
    "attack_init_scale": 2.0,
}


def settings(cfg: Any) -> dict:
    """The adversary settings of a config, with defaults for fields (or a whole section) it lacks."""
    section = cfg.get("adversary", None)
    values = dict(DEFAULTS)
    if section is not None:
        values.update({k: section[k] for k in DEFAULTS if k in section})
    values["kinds"], values["adversary_prob"] = (
        tuple(values["kinds"]),
        tuple(float(q) for q in values["adversary_prob"]),
    )
    return values


def scenario_counts(num_scenarios: int, adaptive_share: float, attack_share: float) -> tuple[int, int, int]:
    """(oblivious, attack, adaptive) scenario counts that add up to M."""
    attack = int(round(attack_share * num_scenarios))
    adaptive_count = int(round(adaptive_share * num_scenarios))
    return num_scenarios - attack - adaptive_count, attack, adaptive_count


def validate(cfg: Any) -> None:
    """Check the adversary section; ValueError says what to fix."""
    a = settings(cfg)
    for name in ("adaptive_share", "attack_share"):
        _checks.check_in_range(f"adversary.{name}", a[name], 0.0, 1.0)
    if a["adaptive_share"] + a["attack_share"] > 1.0 + 1e-9:
        raise ValueError(
            f"adversary.adaptive_share + adversary.attack_share must be <= 1, got "
            f"{a['adaptive_share']} + {a['attack_share']}."
        )
    if a["adaptive_share"] > 0 and not a["kinds"]:
        raise ValueError("adversary.kinds must name at least one adaptive adversary when adaptive_share > 0.")
    for name in a["kinds"]:
        _checks.check_choice("adversary.kinds entry", name, adaptive.ADVERSARIES)
    low, high = a["adversary_prob"] if len(a["adversary_prob"]) == 2 else (None, None)
    if low is None or not 0.0 <= low <= high <= 1.0:
        raise ValueError(
            f"adversary.adversary_prob must be a pair (low, high) with 0 <= low <= high <= 1, "
            f"got {a['adversary_prob']}."
        )
    _checks.check_int("adversary.attack_steps", a["attack_steps"], 1)
    _checks.check_positive("adversary.attack_step_size", a["attack_step_size"])
    _checks.check_positive("adversary.attack_init_scale", a["attack_init_scale"])


def attack_tables(
    apply_fn: Callable,
    params: Any,
    key: jax.Array,
    num: int,
    horizon: int,
    num_actions: int,
    steps: int,
    step_size: float,
    init_scale: float,
    temperature: float,
) -> jax.Array:
    """`num` tables (num, T, A) in [0, 1] attacked against the current parameters (no gradient to params)."""
    frozen = jax.lax.stop_gradient(params)

    def policy_fn(r):
        return jax.nn.softmax(apply_fn(frozen, r) / temperature, axis=-1)

    init_BxTxA = init_scale * jax.random.normal(key, (num, horizon, num_actions))
    return jax.lax.stop_gradient(gradient.signed_gradient_tables(policy_fn, init_BxTxA, steps, step_size))


__all__ = ["DEFAULTS", "settings", "scenario_counts", "validate", "attack_tables"]
