"""The attacks: strength on known answers, known bounds, agreement with plain numpy loops, budgets."""

import math

import flax.nnx as nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rmft_jax import attacks, models
from rmft_jax.attacks import adaptive, gradient
from rmft_jax.baselines import full_info

SMALL = attacks.AttackBudget(restarts=16, steps=150, samples=64)


def np_hedge(table_TxA, eta):
    """Hedge's policies on a table, float64, a loop over rounds."""
    cum = np.zeros(table_TxA.shape[1])
    out = []
    for r in np.asarray(table_TxA, np.float64):
        w = np.exp(eta * (cum - cum.max()))
        out.append(w / w.sum())
        cum = cum + r
    return np.array(out)


def np_regret(table_TxA, policies_TxA):
    """Expected static regret at T, float64."""
    table = np.asarray(table_TxA, np.float64)
    return table.sum(0).max() - float(np.sum(np.asarray(policies_TxA, np.float64) * table))


def test_ftl_is_found_linear():
    horizon, num_actions = 30, 3
    out = attacks.worst_case_regret(full_info.ftl, horizon, num_actions, jax.random.key(0), SMALL)
    assert out["by_method"]["alternating_pair"] >= horizon / 2 - 2  # the structured adversary alone
    assert out["worst"] >= horizon / 2 - 2


def test_uniform_policy_known_worst_case():
    # A learner that always plays uniformly: the worst table pays 1 to one action every round,
    # regret T (1 - 1/A). The gradient search alone must find it.
    horizon, num_actions = 20, 4

    def uniform(r):
        return jnp.full(r.shape, 1.0 / r.shape[-1])

    found = gradient.gradient_attack(uniform, horizon, num_actions, jax.random.key(1), SMALL.gradient())
    best = horizon * (1 - 1 / num_actions)
    assert best - 0.3 <= found["regret"] <= best + 1e-4
    assert found["regret_binary"] == pytest.approx(best, abs=1e-4)


def test_hedge_theory_eta_stays_below_the_bound():
    for horizon, num_actions in ((50, 5), (20, 3)):
        eta = full_info.hedge_theory_eta(horizon, num_actions)
        out = attacks.worst_case_regret(
            lambda r: full_info.ftrl(r, eta),  # noqa: B023 - called inside this iteration
            horizon,
            num_actions,
            jax.random.key(2),
            SMALL,
        )
        bound = math.sqrt(horizon * math.log(num_actions) / 2)
        assert 0.7 * bound < out["worst"] <= bound  # strong, and never above what is provable


def test_hedge_params_model_is_attacked_like_hedge():
    horizon, num_actions, eta = 24, 3, 0.8
    graphdef, params = models.hedge_params(eta, num_actions)

    def model(r):
        return jax.nn.softmax(models.apply(graphdef, params, r), axis=-1)

    a = attacks.worst_case_regret(model, horizon, num_actions, jax.random.key(3), SMALL)
    b = attacks.worst_case_regret(lambda r: full_info.ftrl(r, eta), horizon, num_actions, jax.random.key(3), SMALL)
    for name, value in b["by_method"].items():
        assert a["by_method"][name] == pytest.approx(value, rel=2e-3, abs=2e-3), name


def test_found_regret_is_exact_and_never_exceeds_t():
    horizon, num_actions, eta = 16, 3, 1.5
    graphdef, params = nnx.split(models.make_model("linear_attention", num_actions, seed=4, init_scale=0.5))

    def model(r):
        return jax.nn.softmax(models.apply(graphdef, params, r), axis=-1)

    out = attacks.worst_case_regret(model, horizon, num_actions, jax.random.key(5), SMALL)
    assert all(v <= horizon + 1e-4 for k, v in out["by_method"].items() if not k.endswith("stderr"))
    hedge = gradient.gradient_attack(
        lambda r: full_info.ftrl(r, eta), horizon, num_actions, jax.random.key(6), SMALL.gradient()
    )
    table = np.asarray(hedge["table"])
    assert np.all((table >= 0) & (table <= 1))
    # The reported number is the regret of the reported table, recomputed in float64 by a plain loop.
    assert hedge["regret"] == pytest.approx(np_regret(table, np_hedge(table, eta)), abs=1e-4)


# Independent numpy versions of the adversaries (see rmft_jax/attacks/adaptive.py for the definitions).
def np_adversary(name, t, probs, counts, last, pair):
    r = np.zeros(len(probs))
    if name == "least_likely":
        r[np.argmin(probs)] = 1
    elif name == "all_but_most_likely":
        r[:] = 1
        r[np.argmax(probs)] = 0
    elif name == "alternating_pair":
        i, j = pair
        if t == 0:
            r[i] = 0.5
        else:
            r[i if probs[i] < probs[j] else j] = 1
    elif name == "punish_last":
        r[:] = 1
        r[last] = 0
    elif name == "punish_frequent":
        r[:] = 1
        r[np.argmax(counts)] = 0
    return r


@pytest.mark.parametrize("name", sorted(adaptive.ADVERSARIES))
def test_adaptive_play_matches_numpy_loop(name):
    horizon, num_actions, eta = 12, 4, 0.9
    pairs = np.array([[1, 3], [2, 0], [0, 1]], np.int32)
    tables, probs, actions = jax.jit(
        lambda k: adaptive.play(
            lambda r: full_info.ftrl(r, eta), adaptive.ADVERSARIES[name], horizon, num_actions, jnp.asarray(pairs), k
        )
    )(jax.random.key(7))
    tables, probs, actions = map(np.asarray, (tables, probs, actions))
    for b in range(len(pairs)):
        table, counts, last = np.zeros((horizon, num_actions)), np.zeros(num_actions), 0
        for t in range(horizon):
            p = np_hedge(table, eta)[t]  # rows >= t are still zero: causal
            np.testing.assert_allclose(probs[b, t], p, atol=1e-5)
            table[t] = np_adversary(name, t, p, counts, last, pairs[b])
            counts[actions[b, t]] += 1  # the actions the jax run sampled
            last = actions[b, t]
        np.testing.assert_allclose(tables[b], table, atol=1e-6)
        assert float(adaptive.expected_regret(tables[b : b + 1], probs[b : b + 1])[0]) == pytest.approx(
            np_regret(table, np_hedge(table, eta)), abs=1e-4
        )


def test_bad_budgets_fail_clearly():
    for field, value in (
        ("restarts", 0),
        ("steps", -1),
        ("learning_rate", 0.0),
        ("samples", 0),
        ("temperature", -1.0),
        ("restarts", 2.5),
    ):
        with pytest.raises(ValueError, match=field):
            attacks.AttackBudget(**{field: value}).validate()


def test_growth_exponent():
    horizons = [25, 50, 100, 200]
    assert attacks.growth_exponent(horizons, [3 * math.sqrt(t) for t in horizons]) == pytest.approx(0.5)
    assert attacks.growth_exponent(horizons, [0.9 * t for t in horizons]) == pytest.approx(1.0)
    assert math.isnan(attacks.growth_exponent(horizons, [1.0, -1.0, 2.0, 3.0]))
