"""AdaHedge, FlipFlop and optimistic Hedge against float64 numpy loops written from their papers; the FOL registry."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rmft_jax import envs, metrics, regret
from rmft_jax.baselines import adaptive_hedge, fol_registry, full_info


def _numpy_flipflop(rewards_TxA, flipflop, phi=2.37, alpha=1.243):
    """de Rooij et al. (2014), Algorithms 1 (AdaHedge) and 2 (FlipFlop), losses 1 - r, float64."""
    losses = 1.0 - np.asarray(rewards_TxA, np.float64)
    horizon, num_actions = losses.shape
    cum = np.zeros(num_actions)
    delta = {"ah": 0.0, "ftl": 0.0}
    regime = "ftl" if flipflop else "ah"
    policies = []
    for t in range(horizon):
        eta = math.inf if regime == "ftl" or delta["ah"] == 0 else math.log(num_actions) / delta["ah"]
        loss = losses[t]
        if math.isinf(eta):
            leaders = cum == cum.min()
            w = leaders / leaders.sum()
            mix = (cum + loss).min() - cum.min()  # L*_t - L*_{t-1}
        else:
            w = np.exp(-eta * (cum - cum.min()))
            w /= w.sum()
            mix = -math.log(np.sum(w * np.exp(-eta * loss))) / eta
        policies.append(w)
        delta[regime] += max(float(w @ loss) - mix, 0.0)
        cum = cum + loss
        if flipflop and regime == "ftl" and delta["ftl"] > phi / alpha * delta["ah"]:
            regime = "ah"
        elif flipflop and regime == "ah" and delta["ah"] > alpha * delta["ftl"]:
            regime = "ftl"
    return np.stack(policies)


def _tables(seed=0):
    """Uniform, stochastic, FTL-trap and tie-heavy (binary) reward tables (B, T, A)."""
    key = jax.random.key(seed)
    k1, k2, k3, k4 = jax.random.split(key, 4)
    horizon, num_actions = 40, 4
    return np.concatenate(
        [
            np.asarray(envs.sample_batch(envs.UniformFOL(horizon, num_actions), k1, 3)),
            np.asarray(envs.sample_batch(envs.StochasticFOL(horizon, num_actions), k2, 3)),
            np.asarray(envs.sample_batch(envs.FTLAdversarialFOL(horizon, num_actions), k3, 3)),
            np.asarray(jax.random.bernoulli(k4, 0.5, (3, horizon, num_actions)), np.float32),
        ]
    )


@pytest.mark.parametrize("flipflop", [False, True])
def test_adaptive_hedge_matches_numpy_loop(flipflop):
    tables = _tables()
    ours = np.asarray(adaptive_hedge.flipflop(tables) if flipflop else adaptive_hedge.adahedge(tables))
    ref = np.stack([_numpy_flipflop(t, flipflop) for t in tables])
    np.testing.assert_allclose(ours, ref, atol=2e-4)


def test_adahedge_is_translation_and_scale_invariant():
    tables = jnp.asarray(_tables(1))
    base = adaptive_hedge.adahedge(tables)
    np.testing.assert_allclose(adaptive_hedge.adahedge(3.0 * tables - 1.0), base, atol=1e-4)
    np.testing.assert_allclose(adaptive_hedge.flipflop(0.5 * tables + 2.0), adaptive_hedge.flipflop(tables), atol=1e-4)


def test_adahedge_starts_as_ftl_and_then_shrinks_eta():
    tables = jnp.asarray(_tables(2))
    _, eta_BxT = adaptive_hedge.adahedge(tables, return_eta=True)
    eta_BxT = np.asarray(eta_BxT)
    assert np.all(np.isinf(eta_BxT[:, 0]))  # Delta_0 = 0: round 0 is FTL (uniform)
    finite = np.where(np.isinf(eta_BxT), np.nan, eta_BxT)
    # Delta only grows, so eta never increases once finite.
    assert np.all(np.nan_to_num(np.diff(finite, axis=1), nan=0.0) <= 1e-6)


def test_adahedge_regret_bound_and_best_of_both_worlds():
    """Regret <= 2 sqrt(T ln A) + 16/3 ln A + 2 (de Rooij et al., Thm 8, loosened), FlipFlop escapes the FTL trap."""
    horizon, num_actions = 200, 5
    key = jax.random.key(3)
    trap = envs.sample_batch(envs.FTLAdversarialFOL(horizon, num_actions), key, 8)
    noisy = envs.sample_batch(envs.StochasticFOL(horizon, num_actions), key, 64)
    bound = 2 * math.sqrt(horizon * math.log(num_actions)) + 16 / 3 * math.log(num_actions) + 2
    for tables in (trap, noisy):
        for fn in (adaptive_hedge.adahedge, adaptive_hedge.flipflop):
            assert float(jnp.max(regret.static_regret(tables, fn(tables))[:, -1])) <= bound
    ftl_trap = float(jnp.mean(regret.static_regret(trap, full_info.ftl(trap))[:, -1]))
    ff_trap = float(jnp.mean(regret.static_regret(trap, adaptive_hedge.flipflop(trap))[:, -1]))
    assert ftl_trap > horizon / 2 - 2 and ff_trap < ftl_trap / 4
    # On stochastic data FlipFlop stays near FTL: within its guarantee R_ff <= 5.64 R_ftl + 3.73 (Thm 15).
    ftl_noisy = regret.static_regret(noisy, full_info.ftl(noisy))[:, -1]
    ff_noisy = regret.static_regret(noisy, adaptive_hedge.flipflop(noisy))[:, -1]
    assert bool(jnp.all(ff_noisy <= 5.64 * ftl_noisy + 3.73))


def test_optimistic_hedge_matches_numpy_loop():
    tables = _tables(4).astype(np.float64)
    eta = 0.7
    ours = np.asarray(adaptive_hedge.optimistic_hedge(tables.astype(np.float32), eta))
    for b, table in enumerate(tables):
        cum, hint = np.zeros(table.shape[1]), np.zeros(table.shape[1])
        for t, r in enumerate(table):
            w = np.exp(eta * (cum + hint) - np.max(eta * (cum + hint)))
            np.testing.assert_allclose(ours[b, t], w / w.sum(), atol=1e-5)
            cum, hint = cum + r, r


@pytest.mark.parametrize("name", sorted(fol_registry.FOL_ALGORITHMS))
def test_every_reference_is_causal_and_a_distribution(name):
    tables = jnp.asarray(_tables(5))
    ref = fol_registry.FOL_ALGORITHMS[name]
    run = (lambda r: ref.policies(r, 0.5)) if ref.tuned else ref.policies
    policies = np.asarray(run(tables))
    np.testing.assert_allclose(policies.sum(-1), 1.0, atol=1e-5)
    assert np.all(policies >= -1e-6)
    cut = 17
    changed = tables.at[:, cut:].set(jax.random.uniform(jax.random.key(9), tables[:, cut:].shape))
    np.testing.assert_array_equal(np.asarray(run(changed))[:, : cut + 1], policies[:, : cut + 1])


def test_registry_tunes_in_sample_and_names_the_best_prior_free():
    tables = envs.sample_batch(envs.StochasticFOL(30, 4), jax.random.key(6), 64)
    curves, info = fol_registry.regret_curves("optimistic_hedge_tuned", tables, (0.1, 1.0, 10.0))
    assert info["eta"] in (0.1, 1.0, 10.0) and min(info["grid_regret"]) == pytest.approx(
        float(curves[:, -1].mean()), rel=1e-5
    )
    finals = {
        n: float(fol_registry.regret_curves(n, tables, (0.5,))[0][:, -1].mean()) for n in fol_registry.FOL_ALGORITHMS
    }
    name, value = fol_registry.best_of(finals)
    assert name in fol_registry.PRIOR_FREE and value == min(finals[n] for n in fol_registry.PRIOR_FREE)
    with pytest.raises(ValueError, match="unknown FOL reference"):
        fol_registry.regret_curves("adahedgee", tables)
    assert metrics.gap_closed(10.0, 4.0, 2.0) == pytest.approx(0.75)
