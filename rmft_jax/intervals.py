"""Intervals over seeds: the mean and its Student-t 95% half-width, without scipy at run time."""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np

from rmft_jax import regret


def t_quantile(prob: float, df: int) -> float:
    """The `prob` quantile (prob in (0.5, 1)) of Student's t with `df` degrees of freedom, by bisection."""
    if not 0.5 < prob < 1.0 or df < 1:
        raise ValueError(f"t_quantile needs 0.5 < prob < 1 and df >= 1, got prob={prob}, df={df}.")
    low, high = 0.0, 1e3
    for _ in range(60):  # halves a 1e3-wide bracket to ~1e-15
        mid = 0.5 * (low + high)
        if float(regret._student_t_cdf(jnp.float32(mid), jnp.float32(df))) < prob:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def mean_ci95(values: Sequence[float]) -> dict:
    """{"mean", "ci95" (t-interval half-width; NaN for one value), "values"} of per-seed numbers."""
    x = np.asarray(values, np.float64)
    half = t_quantile(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
    return {"mean": float(x.mean()), "ci95": float(half), "values": [float(v) for v in x]}


def below(a: dict, b: dict) -> bool:
    """The 95% interval of mean_ci95 dict `a` lies wholly below `b`'s."""
    return a["mean"] + a["ci95"] < b["mean"] - b["ci95"]


def compare(a: dict, b: dict, name_a: str, name_b: str) -> str:
    """'NAME_A better' (lower), 'NAME_B better' or 'no significant difference', by the 95% intervals."""
    return f"{name_a} better" if below(a, b) else f"{name_b} better" if below(b, a) else "no significant difference"
