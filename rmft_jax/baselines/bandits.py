"""Classical bandit baselines (UCB1, Thompson, Greedy, eps-Greedy, EXP3, SW-UCB, D-UCB), batched over runs.

Each algorithm is an (init, select, update) triple over a state of (N, ...) arrays; `run_bandit`
drives it with one `lax.scan` over rounds under `jax.jit`. Rounds are 0-indexed: in round t the
learner has seen t rewards. Every argmax breaks ties uniformly at random. UCB1, Greedy, eps-Greedy,
SW-UCB and D-UCB open with one pull per arm in order 0..A-1 (rounds 0..A-1).
"""
from __future__ import annotations

import functools
import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import _checks

Array = Any
State = dict  # algorithm state: a dict of (N, ...) arrays


class Algorithm(NamedTuple):
    """A bandit algorithm: state init, action choice, update, hyperparameter defaults and checks."""

    init: Callable[[int, int, dict], State]  # (num_runs, num_actions, hp) -> state
    select: Callable[[State, Array, Array, dict], Array]  # (state, t, key, hp) -> actions_N
    update: Callable[[State, Array, Array, Array, dict], State]  # (state, t, actions_N, rewards_N, hp)
    defaults: Callable[[int, int], dict] = lambda horizon, num_actions: {}
    check: Callable[[dict], None] = lambda hp: None


def _random_argmax(key: Array, scores_NxA: Array) -> Array:
    """Argmax over the last axis, ties broken uniformly at random."""
    is_max_NxA = scores_NxA >= jnp.max(scores_NxA, axis=-1, keepdims=True)
    noise_NxA = jax.random.uniform(key, scores_NxA.shape)
    return jnp.argmax(jnp.where(is_max_NxA, noise_NxA, -1.0), axis=-1).astype(jnp.int32)


def _round_robin_first(t: Array, actions_N: Array, num_actions: int) -> Array:
    """Play arm t in rounds t < A (one pull per arm, in order), else the given actions."""
    return jnp.where(t < num_actions, t, actions_N).astype(jnp.int32)


def _counts_init(num_runs: int, num_actions: int, hp: dict) -> State:
    """Zero pull counts and reward sums per arm."""
    zeros_NxA = jnp.zeros((num_runs, num_actions), jnp.float32)
    return {"counts": zeros_NxA, "sums": zeros_NxA}


def _counts_update(state: State, t: Array, actions_N: Array, rewards_N: Array, hp: dict) -> State:
    """Add the chosen arm's pull and reward."""
    onehot_NxA = jax.nn.one_hot(actions_N, state["counts"].shape[-1], dtype=jnp.float32)
    return {"counts": state["counts"] + onehot_NxA, "sums": state["sums"] + rewards_N[:, None] * onehot_NxA}


def _empirical_means(sums_NxA: Array, counts_NxA: Array) -> Array:
    """Empirical means; an arm with no (or underflowed) count gets +inf so it is tried."""
    return jnp.where(counts_NxA > 0, sums_NxA / jnp.maximum(counts_NxA, 1e-30), jnp.inf)


def _ucb_scores(sums_NxA: Array, counts_NxA: Array, numerator: Array) -> Array:
    """mean + sqrt(numerator / count), +inf for arms with zero count."""
    bonus_NxA = jnp.sqrt(jnp.maximum(numerator, 0.0) / jnp.maximum(counts_NxA, 1e-30))
    return jnp.where(counts_NxA > 0, _empirical_means(sums_NxA, counts_NxA) + bonus_NxA, jnp.inf)


def _ucb1_select(state: State, t: Array, key: Array, hp: dict) -> Array:
    """UCB1: argmax mean + sqrt(c ln t / n_a) after one pull per arm (Auer et al.: c = 2)."""
    scores_NxA = _ucb_scores(state["sums"], state["counts"], hp["c"] * jnp.log(jnp.maximum(t, 1)))
    return _round_robin_first(t, _random_argmax(key, scores_NxA), state["counts"].shape[-1])


def _greedy_choice(state: State, key: Array) -> Array:
    """Argmax of empirical means (untried arms first), ties at random."""
    return _random_argmax(key, _empirical_means(state["sums"], state["counts"]))


def _greedy_select(state: State, t: Array, key: Array, hp: dict) -> Array:
    """Greedy: one pull per arm in order 0..A-1, then argmax empirical mean."""
    return _round_robin_first(t, _greedy_choice(state, key), state["counts"].shape[-1])


def _eps_greedy_select(state: State, t: Array, key: Array, hp: dict) -> Array:
    """eps-Greedy: after one pull per arm, a uniform arm with probability epsilon, else greedy."""
    key_tie, key_explore, key_arm = jax.random.split(key, 3)
    num_runs, num_actions = state["counts"].shape
    explore_N = jax.random.uniform(key_explore, (num_runs,)) < hp["epsilon"]
    uniform_N = jax.random.randint(key_arm, (num_runs,), 0, num_actions)
    actions_N = jnp.where(explore_N, uniform_N, _greedy_choice(state, key_tie))
    return _round_robin_first(t, actions_N, num_actions)


def _thompson_select(state: State, t: Array, key: Array, hp: dict) -> Array:
    """Thompson sampling: argmax of one posterior sample per arm."""
    key_sample, key_tie = jax.random.split(key)
    counts_NxA, sums_NxA = state["counts"], state["sums"]
    if hp["prior"] == "beta":
        # Beta(1, 1) prior; a reward r in [0, 1] counts as r successes and 1 - r failures.
        samples_NxA = jax.random.beta(key_sample, 1.0 + sums_NxA, 1.0 + counts_NxA - sums_NxA)
    else:
        # N(0, 1) prior with unit-variance rewards: posterior N(sum / (n + 1), 1 / (n + 1)).
        noise_NxA = jax.random.normal(key_sample, counts_NxA.shape)
        samples_NxA = (sums_NxA + noise_NxA * jnp.sqrt(counts_NxA + 1.0)) / (counts_NxA + 1.0)
    return _random_argmax(key_tie, samples_NxA)


def _exp3_probs(log_weights_NxA: Array, gamma: float) -> Array:
    """EXP3 policy: (1 - gamma) * softmax(log-weights) + gamma / A."""
    num_actions = log_weights_NxA.shape[-1]
    return (1.0 - gamma) * jax.nn.softmax(log_weights_NxA, axis=-1) + gamma / num_actions


def _exp3_init(num_runs: int, num_actions: int, hp: dict) -> State:
    """Uniform weights (log-weights zero)."""
    return {"log_weights": jnp.zeros((num_runs, num_actions), jnp.float32)}


def _exp3_select(state: State, t: Array, key: Array, hp: dict) -> Array:
    """Sample an arm from the EXP3 policy."""
    probs_NxA = _exp3_probs(state["log_weights"], hp["gamma"])
    return jax.random.categorical(key, jnp.log(probs_NxA), axis=-1).astype(jnp.int32)


def _exp3_update(state: State, t: Array, actions_N: Array, rewards_N: Array, hp: dict) -> State:
    """Importance-weighted reward estimate r / p_a for the chosen arm; w_a *= exp(gamma * xhat / A)."""
    log_weights_NxA = state["log_weights"]
    num_actions = log_weights_NxA.shape[-1]
    probs_NxA = _exp3_probs(log_weights_NxA, hp["gamma"])
    prob_N = jnp.take_along_axis(probs_NxA, actions_N[:, None], axis=1)[:, 0]
    gain_NxA = jax.nn.one_hot(actions_N, num_actions) * (rewards_N / prob_N)[:, None]
    log_weights_NxA = log_weights_NxA + hp["gamma"] * gain_NxA / num_actions
    # Shift by the max: the policy is unchanged and the log-weights stay bounded.
    return {"log_weights": log_weights_NxA - jnp.max(log_weights_NxA, axis=-1, keepdims=True)}


def _exp3_defaults(horizon: int, num_actions: int) -> dict:
    """Auer et al. (2002), Cor. 3.2 with g = T: gamma = min(1, sqrt(A ln A / ((e - 1) T)))."""
    gamma = math.sqrt(num_actions * math.log(num_actions) / ((math.e - 1.0) * horizon))
    return {"gamma": min(1.0, gamma)}


def _sw_ucb_init(num_runs: int, num_actions: int, hp: dict) -> State:
    """Window counts and sums plus a circular buffer of the last `window` (action, reward) pairs."""
    state = _counts_init(num_runs, num_actions, hp)
    state["buf_actions"] = jnp.zeros((num_runs, hp["window"]), jnp.int32)
    state["buf_rewards"] = jnp.zeros((num_runs, hp["window"]), jnp.float32)
    return state


def _sw_ucb_select(state: State, t: Array, key: Array, hp: dict) -> Array:
    """SW-UCB: window mean + sqrt(xi ln(min(t, tau)) / N_t(tau, a)); arms absent from the window first."""
    numerator = hp["xi"] * jnp.log(jnp.maximum(jnp.minimum(t, hp["window"]), 1))
    scores_NxA = _ucb_scores(state["sums"], state["counts"], numerator)
    return _round_robin_first(t, _random_argmax(key, scores_NxA), state["counts"].shape[-1])


def _sw_ucb_update(state: State, t: Array, actions_N: Array, rewards_N: Array, hp: dict) -> State:
    """Add the new pull and, once the buffer is full, subtract the one leaving the window: O(A) a step."""
    window = hp["window"]
    num_actions = state["counts"].shape[-1]
    slot = t % window
    leaving = (t >= window).astype(jnp.float32)
    old_actions_N = state["buf_actions"][:, slot]
    old_onehot_NxA = leaving * jax.nn.one_hot(old_actions_N, num_actions, dtype=jnp.float32)
    old_rewards_N = state["buf_rewards"][:, slot]
    new = _counts_update(state, t, actions_N, rewards_N, hp)
    return {
        "counts": new["counts"] - old_onehot_NxA,
        "sums": new["sums"] - old_rewards_N[:, None] * old_onehot_NxA,
        "buf_actions": state["buf_actions"].at[:, slot].set(actions_N),
        "buf_rewards": state["buf_rewards"].at[:, slot].set(rewards_N),
    }


def _sw_ucb_defaults(horizon: int, num_actions: int) -> dict:
    """Garivier & Moulines (2011) with B = 1 and one breakpoint: tau = int(2 sqrt(T ln T)), xi = 0.6."""
    return {"window": max(1, int(2.0 * math.sqrt(horizon * math.log(horizon)))), "xi": 0.6}


def _d_ucb_select(state: State, t: Array, key: Array, hp: dict) -> Array:
    """D-UCB: discounted mean + 2 sqrt(xi ln n_t(gamma) / N_t(gamma, a)), n_t = sum_a N_t(gamma, a)."""
    total_Nx1 = jnp.sum(state["counts"], axis=-1, keepdims=True)
    numerator_Nx1 = 4.0 * hp["xi"] * jnp.log(jnp.maximum(total_Nx1, 1.0))
    scores_NxA = _ucb_scores(state["sums"], state["counts"], numerator_Nx1)
    return _round_robin_first(t, _random_argmax(key, scores_NxA), state["counts"].shape[-1])


def _d_ucb_update(state: State, t: Array, actions_N: Array, rewards_N: Array, hp: dict) -> State:
    """Discount every count and sum by gamma, then add the new pull."""
    discounted = {k: hp["discount"] * v for k, v in state.items()}
    return _counts_update(discounted, t, actions_N, rewards_N, hp)


def _d_ucb_defaults(horizon: int, num_actions: int) -> dict:
    """Garivier & Moulines (2011) with B = 1 and one breakpoint: gamma = 1 - 1/(4 sqrt(T)), xi = 0.6."""
    return {"discount": 1.0 - 1.0 / (4.0 * math.sqrt(horizon)), "xi": 0.6}


def _check_unit_interval(name: str, value: float, meaning: str) -> None:
    """Raise ValueError unless 0 < value <= 1."""
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name} must lie in (0, 1] ({meaning}), got {value!r}.")


def _check_window(hp: dict) -> None:
    """SW-UCB: window an integer >= 1, xi > 0."""
    if int(hp["window"]) != hp["window"] or hp["window"] < 1:
        raise ValueError(f"window must be an integer >= 1 (rounds kept), got {hp['window']!r}.")
    _checks.check_positive("xi", hp["xi"])


def _check_discount(hp: dict) -> None:
    """D-UCB: discount in (0, 1], xi > 0."""
    _check_unit_interval("discount", hp["discount"], "1 = no discounting")
    _checks.check_positive("xi", hp["xi"])


ALGORITHMS: dict[str, Algorithm] = {
    "ucb1": Algorithm(_counts_init, _ucb1_select, _counts_update, lambda T, A: {"c": 2.0},
                      lambda hp: _checks.check_positive("c", hp["c"], allow_zero=True)),
    "thompson": Algorithm(_counts_init, _thompson_select, _counts_update, lambda T, A: {"prior": "beta"},
                          lambda hp: _checks.check_choice("prior", hp["prior"], ("beta", "gaussian"))),
    "greedy": Algorithm(_counts_init, _greedy_select, _counts_update),
    "eps_greedy": Algorithm(_counts_init, _eps_greedy_select, _counts_update, lambda T, A: {"epsilon": 0.1},
                            lambda hp: _checks.check_in_range("epsilon", hp["epsilon"], 0.0, 1.0)),
    "exp3": Algorithm(_exp3_init, _exp3_select, _exp3_update, _exp3_defaults,
                      lambda hp: _check_unit_interval("gamma", hp["gamma"], "EXP3 exploration rate")),
    "sw_ucb": Algorithm(_sw_ucb_init, _sw_ucb_select, _sw_ucb_update, _sw_ucb_defaults, _check_window),
    "d_ucb": Algorithm(_counts_init, _d_ucb_select, _d_ucb_update, _d_ucb_defaults, _check_discount),
}


def resolve_hparams(name: str, horizon: int, num_actions: int, **hparams: Any) -> tuple:
    """Validate hyperparameters, fill defaults (None means default) and return sorted hashable items."""
    _checks.check_choice("bandit algorithm", name, ALGORITHMS)
    algorithm = ALGORITHMS[name]
    resolved = algorithm.defaults(horizon, num_actions)
    unknown = sorted(set(hparams) - set(resolved))
    if unknown:
        allowed = ", ".join(sorted(resolved)) or "none"
        raise ValueError(f"unknown hyperparameter(s) {unknown} for {name!r}; it accepts: {allowed}.")
    defaults = dict(resolved)
    for key, value in hparams.items():
        if value is not None:
            # Plain Python scalars: hashable static arguments, one compile per distinct value.
            resolved[key] = value.item() if isinstance(value, np.generic) else value
    algorithm.check(resolved)
    # Integer-valued hyperparameters (the SW-UCB window) index arrays: 7.0 becomes 7.
    resolved = {k: int(v) if isinstance(defaults[k], int) else v for k, v in resolved.items()}
    return tuple(sorted(resolved.items()))


def make_bandit_fn(name: str, num_runs: int, hparams: tuple = ()) -> Callable:
    """Pure, unjitted fn(key, means_TxA, rewards=None) -> (actions_NxT, rewards_NxT); hparams from resolve_hparams."""
    algorithm, hp = ALGORITHMS[name], dict(hparams)

    def rollout(key: Array, means_TxA: Array, rewards: Array | None = None) -> tuple[Array, Array]:
        """Scan over rounds; rewards come from the table when given, else Bernoulli(means) draws."""
        horizon, num_actions = means_TxA.shape
        means_TxA = jnp.asarray(means_TxA, jnp.float32)
        table_TxBxA = None
        if rewards is not None:
            rewards = jnp.asarray(rewards, jnp.float32)
            # B = 1 for one shared (T, A) table, B = N for per-run tables.
            table_TxBxA = rewards[:, None] if rewards.ndim == 2 else jnp.swapaxes(rewards, 0, 1)

        def step(state, xs):
            """One round for all N runs."""
            t, key_t, means_A, table_BxA = xs
            key_select, key_reward = jax.random.split(key_t)
            actions_N = algorithm.select(state, t, key_select, hp)
            if table_BxA is None:
                uniform_N = jax.random.uniform(key_reward, (num_runs,))
                rewards_N = (uniform_N < means_A[actions_N]).astype(jnp.float32)
            else:
                table_NxA = jnp.broadcast_to(table_BxA, (num_runs, num_actions))
                rewards_N = jnp.take_along_axis(table_NxA, actions_N[:, None], axis=1)[:, 0]
            return algorithm.update(state, t, actions_N, rewards_N, hp), (actions_N, rewards_N)

        xs = (jnp.arange(horizon), jax.random.split(key, horizon), means_TxA, table_TxBxA)
        _, (actions_TxN, rewards_TxN) = jax.lax.scan(step, algorithm.init(num_runs, num_actions, hp), xs)
        return actions_TxN.T, rewards_TxN.T

    return rollout


@functools.lru_cache(maxsize=None)
def compiled_bandit_fn(name: str, num_runs: int, hparams: tuple = ()) -> Callable:
    """Jitted rollout, cached per (name, num_runs, hparams) so repeated calls reuse the compile."""
    return jax.jit(make_bandit_fn(name, num_runs, hparams))


def _check_inputs(means: Array, num_runs: int, rewards: Array | None) -> None:
    """Validate the instance and the optional reward table, with messages that say what to fix."""
    if np.ndim(means) != 2:
        raise ValueError(f"means must have shape (T, A) (per-round arm means), got shape {np.shape(means)}.")
    horizon, num_actions = np.shape(means)
    _checks.check_horizon(horizon, name="means.shape[0] (the horizon T)")
    if num_actions < 2:
        raise ValueError(f"means.shape[1] (the number of arms A) must be >= 2, got {num_actions}.")
    if isinstance(num_runs, bool) or int(num_runs) != num_runs or num_runs < 1:
        raise ValueError(f"num_runs must be an integer >= 1, got {num_runs!r}.")
    if rewards is None:
        _checks.check_in_range("means (Bernoulli arm means)", means, 0.0, 1.0)
        return
    if np.shape(rewards) not in ((horizon, num_actions), (num_runs, horizon, num_actions)):
        raise ValueError(f"rewards must have shape (T, A) = {(horizon, num_actions)} or (num_runs, T, A) = "
                         f"{(num_runs, horizon, num_actions)}, got {np.shape(rewards)}.")


def run_bandit(name: str, key: Array, means: Array, num_runs: int = 1, rewards: Array | None = None,
               **hparams: Any) -> tuple[jax.Array, jax.Array]:
    """Run bandit algorithm `name` for num_runs independent runs -> (actions (N, T) int32, rewards (N, T) f32).

    `means` (T, A) are per-round Bernoulli means (non-stationary instances allowed). Realized
    `rewards` (T, A) or (N, T, A) replace the Bernoulli draws (common random numbers; Gaussian arms);
    `means` is then only used for its shape. Hyperparameters (None = default):
      ucb1: c=2.0 (bonus sqrt(c ln t / n_a)).  greedy: none.  eps_greedy: epsilon=0.1.
      thompson: prior='beta' (Beta(1, 1)) or 'gaussian'.  exp3: gamma=min(1, sqrt(A ln A / ((e - 1) T))).
      sw_ucb: window=int(2 sqrt(T ln T)), xi=0.6.  d_ucb: discount=1 - 1/(4 sqrt(T)), xi=0.6.
    """
    _checks.check_choice("bandit algorithm", name, ALGORITHMS)
    _check_inputs(means, num_runs, rewards)
    horizon, num_actions = np.shape(means)
    items = resolve_hparams(name, horizon, num_actions, **hparams)
    if name == "thompson" and dict(items)["prior"] == "beta" and rewards is not None:
        # A Beta posterior needs rewards in [0, 1]; the Gaussian one takes any real rewards.
        _checks.check_in_range("rewards (for prior='beta'; use prior='gaussian' for others)", rewards, 0.0, 1.0)
    return compiled_bandit_fn(name, int(num_runs), items)(key, means, rewards)
