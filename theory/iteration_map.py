"""The RMFT iteration restricted to the FTRL family: eta -> eta' and its fixed point.

For each eta on a grid: start from `models.hedge_params(eta)` (the model that computes Hedge(eta)
exactly) with a freshly initialized optimizer, run one RMFT iteration (or `num_iterations`), and
read off eta' = eta-hat of the result. The same keys are used for every eta (common random numbers:
the same scenarios and the same sampling noise), so differences between neighbouring etas are not
drowned in sampling noise. A fixed point eta* is where eta' - eta changes sign; it is stable when
the map's slope there is below 1 in absolute value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from rmft_jax import models


def map_etas(
    iteration: Callable,
    init_opt: Callable,
    read_eta: Callable,
    etas: Sequence[float],
    num_actions: int,
    key: jax.Array,
    num_keys: int,
    num_iterations: int = 1,
    model_kwargs: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """eta' and the TV to Hedge(eta') for every (eta, key): two arrays (len(etas), num_keys).

    iteration(params, opt_state, key) -> (params, opt_state, metrics) is `fol.make_iteration`'s
    jitted function; init_opt(params) -> opt_state; read_eta(params) -> (eta-hat, its TV). The TV
    says how far one iteration moves the model out of the FTRL family.
    Key r of every eta is fold_in(key, r); iteration i within a run folds in i once more.
    """
    out, tv = np.zeros((len(etas), num_keys)), np.zeros((len(etas), num_keys))
    for j, eta in enumerate(etas):
        _, params0 = models.hedge_params(float(eta), num_actions, **(model_kwargs or {}))
        for r in range(num_keys):
            params, opt_state = params0, init_opt(params0)
            key_r = jax.random.fold_in(key, r)
            for i in range(num_iterations):
                params, opt_state, _ = iteration(params, opt_state, jax.random.fold_in(key_r, i))
            out[j, r], tv[j, r] = (float(x) for x in read_eta(params))
    return out, tv


def fixed_points(etas: Sequence[float], eta_next: Sequence[float]) -> list[dict[str, Any]]:
    """Every sign change of log eta' - log eta between grid neighbours, interpolated in log eta.

    slope is the secant d log eta' / d log eta between the two neighbours, which equals
    d eta' / d eta at a fixed point; stable = |slope| < 1. A grid point with eta' == eta exactly
    counts once.
    """
    x = np.log(np.asarray(etas, np.float64))
    y = np.log(np.asarray(eta_next, np.float64))
    gap = y - x
    found = []
    for j in range(len(x) - 1):
        g0, g1 = gap[j], gap[j + 1]
        crossing = g0 * g1 < 0 or g1 == 0 or (j == 0 and g0 == 0)
        if not (np.isfinite(g0) and np.isfinite(g1) and crossing):
            continue
        frac = 0.0 if g0 == 0 else g0 / (g0 - g1)
        slope = (y[j + 1] - y[j]) / (x[j + 1] - x[j])
        found.append(
            {
                "eta_star": float(np.exp(x[j] + frac * (x[j + 1] - x[j]))),
                "slope": float(slope),
                "stable": bool(abs(slope) < 1.0),
                "bracket": [float(np.exp(x[j])), float(np.exp(x[j + 1]))],
            }
        )
    return found


def headline_fixed_point(points: list[dict[str, Any]]) -> dict[str, Any]:
    """The first stable fixed point, else the first one, else NaN with stable=False."""
    stable = [p for p in points if p["stable"]]
    if stable or points:
        return (stable or points)[0]
    return {"eta_star": float("nan"), "slope": float("nan"), "stable": False, "bracket": None}


def summarize_map(etas: Sequence[float], eta_next_ExK: np.ndarray, tv_ExK: np.ndarray | None = None) -> dict[str, Any]:
    """Mean map (geometric mean over keys, since eta lives on a log scale), its spread and fixed points."""
    logs = np.log(eta_next_ExK)
    mean = np.exp(logs.mean(axis=1))
    spread = logs.std(axis=1, ddof=1) if eta_next_ExK.shape[1] > 1 else np.zeros(len(etas))
    points = fixed_points(etas, mean)
    per_key = [
        headline_fixed_point(fixed_points(etas, eta_next_ExK[:, r]))["eta_star"] for r in range(eta_next_ExK.shape[1])
    ]
    return {
        "etas": [float(e) for e in etas],
        "eta_next_mean": mean.tolist(),
        "eta_next_log_std": spread.tolist(),
        "eta_next_all": eta_next_ExK.tolist(),
        "fixed_points": points,
        "tv_next_mean": None if tv_ExK is None else np.mean(tv_ExK, axis=1).tolist(),
        "fixed_point": headline_fixed_point(points),
        "eta_star_per_key": per_key,
    }
