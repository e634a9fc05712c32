"""Classical bandit baselines (UCB1, Thompson, Greedy, eps-Greedy, EXP3, SW-UCB, D-UCB), batched over runs.

Each algorithm is an (init, select, update) triple over a state of arms-major (A, N) arrays: runs lie on
the minor axis, so XLA vectorizes every step over runs and a reduction over arms is an elementwise pass
over A rows. `run_bandit` drives it with one `lax.scan` over rounds under `jax.jit` and returns (N, T)
arrays. Rounds are 0-indexed: in round t the learner has seen t rewards. Every argmax breaks ties
uniformly at random. UCB1, Greedy, eps-Greedy, SW-UCB and D-UCB open with one pull per arm in order
0..A-1 (rounds 0..A-1). `register` adds more: bandit_references.py registers KL-UCB, MOSS, Tsallis-INF,
discounted Thompson and two change-point oracles.

Randomness, per round and run (`counter_rng.py`): a tie-breaking word from a cheap hash stream, and
the Threefry-2x32 words that draw Bernoulli rewards and eps-Greedy's and EXP3's choices, in counter
mode (key pair drawn once from the caller's key, counter (round, block * N + run)). Thompson's
posterior samples use jax.random with fold_in(key, t).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import _checks
from rmft_jax.baselines import counter_rng

Array = Any
State = dict  # algorithm state: a dict of arms-major (A, N) arrays (SW-UCB adds (window, N) and (N,) ones)
_U32 = counter_rng.U32


class Draws(NamedTuple):
    """One round's randomness for N runs, handed to `select`."""

    ties: Array  # (N,) uint32 for tie-breaking only (see counter_rng.tie_words)
    words: tuple  # algorithm.num_words Threefry words, each (N,) uint32
    key: Array  # the rollout's algorithm key: heavy draws use jax.random with fold_in(key, t)


class Algorithm(NamedTuple):
    """A bandit algorithm: state init, action choice, update, hyperparameter defaults and checks."""

    init: Callable[[int, int, dict], State]  # (num_runs, num_actions, hp) -> state
    select: Callable[[State, Array, Draws, dict], Array]  # (state, t, draws, hp) -> actions_N
    update: Callable[[State, Array, Array, Array, dict], State]  # (state, t, actions_N, rewards_N, hp)
    defaults: Callable[[int, int], dict] = lambda horizon, num_actions: {}
    check: Callable[[dict], None] = lambda hp: None
    num_words: int = 0  # Threefry words per run and round that select uses (Draws.words)
    # Oracle restart: state back to init(...) whenever the next round opens a new segment of means_TxA (the
    # rounds t with means_TxA[t] != means_TxA[t - 1]); for the change-point oracles, which read the instance.
    restarts: bool = False
    unit_rewards: bool = False  # run_bandit checks that reward tables lie in [0, 1] (Beta / Bernoulli-kl models)


def _one_hot(actions_N: Array, num_actions: int) -> Array:
    """Arms-major one-hot mask of the chosen arms -> (A, N) bool."""
    return jnp.arange(num_actions, dtype=jnp.int32)[:, None] == actions_N[None]


def _take(values_AxB: Array, actions_N: Array) -> Array:
    """The chosen arm's value per run -> (N,); values (A, 1) are shared by all runs."""
    if values_AxB.shape[1] == 1:
        return values_AxB[:, 0][actions_N]
    return jnp.take_along_axis(values_AxB, actions_N[None], axis=0)[0]


def _round_robin_first(t: Array, actions_N: Array, num_actions: int) -> Array:
    """Play arm t in rounds t < A (one pull per arm, in order), else the given actions."""
    return jnp.where(t < num_actions, t, actions_N).astype(jnp.int32)


def _counts_init(num_runs: int, num_actions: int, hp: dict) -> State:
    """Zero pull counts and reward sums per arm."""
    zeros_AxN = jnp.zeros((num_actions, num_runs), jnp.float32)
    return {"counts": zeros_AxN, "sums": zeros_AxN}


def _counts_update(state: State, t: Array, actions_N: Array, rewards_N: Array, hp: dict) -> State:
    """Add the chosen arm's pull and reward."""
    onehot_AxN = _one_hot(actions_N, state["counts"].shape[0])
    return {"counts": state["counts"] + onehot_AxN, "sums": state["sums"] + jnp.where(onehot_AxN, rewards_N, 0.0)}


def _empirical_means(sums_AxN: Array, counts_AxN: Array) -> Array:
    """Empirical means; an arm with no (or underflowed) count gets +inf so it is tried."""
    return jnp.where(counts_AxN > 0, sums_AxN / jnp.maximum(counts_AxN, 1e-30), jnp.inf)


def _ucb_scores(sums_AxN: Array, counts_AxN: Array, numerator: Array) -> Array:
    """mean + sqrt(numerator / count), +inf for arms with zero count (one division per arm)."""
    inv_counts_AxN = 1.0 / jnp.maximum(counts_AxN, 1e-30)
    bonus_AxN = jnp.sqrt(jnp.maximum(numerator, 0.0) * inv_counts_AxN)
    return jnp.where(counts_AxN > 0, sums_AxN * inv_counts_AxN + bonus_AxN, jnp.inf)


def _ucb1_select(state: State, t: Array, draws: Draws, hp: dict) -> Array:
    """UCB1: argmax mean + sqrt(c ln t / n_a) after one pull per arm (Auer et al.: c = 2)."""
    scores_AxN = _ucb_scores(state["sums"], state["counts"], hp["c"] * jnp.log(jnp.maximum(t, 1)))
    return _round_robin_first(t, counter_rng.random_argmax(draws.ties, scores_AxN), state["counts"].shape[0])


def _greedy_choice(state: State, bits_N: Array) -> Array:
    """Argmax of empirical means (untried arms first), ties at random."""
    return counter_rng.random_argmax(bits_N, _empirical_means(state["sums"], state["counts"]))


def _greedy_select(state: State, t: Array, draws: Draws, hp: dict) -> Array:
    """Greedy: one pull per arm in order 0..A-1, then argmax empirical mean."""
    return _round_robin_first(t, _greedy_choice(state, draws.ties), state["counts"].shape[0])


def _eps_greedy_select(state: State, t: Array, draws: Draws, hp: dict) -> Array:
    """eps-Greedy: after one pull per arm, a uniform arm with probability epsilon, else greedy."""
    num_actions = state["counts"].shape[0]
    explore_N = counter_rng.uniform(draws.words[0]) < hp["epsilon"]
    uniform_N = jnp.minimum((counter_rng.uniform(draws.words[1]) * num_actions).astype(jnp.int32), num_actions - 1)
    actions_N = jnp.where(explore_N, uniform_N, _greedy_choice(state, draws.ties))
    return _round_robin_first(t, actions_N, num_actions)


def _thompson_select(state: State, t: Array, draws: Draws, hp: dict) -> Array:
    """Thompson sampling: argmax of one posterior sample per arm."""
    key_t = jax.random.fold_in(draws.key, t)
    counts_AxN, sums_AxN = state["counts"], state["sums"]
    if hp["prior"] == "beta":
        # Beta(1, 1) prior; a reward r in [0, 1] counts as r successes and 1 - r failures.
        samples_AxN = jax.random.beta(key_t, 1.0 + sums_AxN, 1.0 + counts_AxN - sums_AxN)
    else:
        # N(0, 1) prior with unit-variance rewards: posterior N(sum / (n + 1), 1 / (n + 1)).
        noise_AxN = jax.random.normal(key_t, counts_AxN.shape)
        samples_AxN = (sums_AxN + noise_AxN * jnp.sqrt(counts_AxN + 1.0)) / (counts_AxN + 1.0)
    return counter_rng.random_argmax(draws.ties, samples_AxN)


def _exp3_probs(log_weights_AxN: Array, gamma: float) -> Array:
    """EXP3 policy: (1 - gamma) * softmax(log-weights) + gamma / A."""
    num_actions = log_weights_AxN.shape[0]
    return (1.0 - gamma) * jax.nn.softmax(log_weights_AxN, axis=0) + gamma / num_actions


def _exp3_init(num_runs: int, num_actions: int, hp: dict) -> State:
    """Uniform weights (log-weights zero)."""
    return {"log_weights": jnp.zeros((num_actions, num_runs), jnp.float32)}


def _exp3_select(state: State, t: Array, draws: Draws, hp: dict) -> Array:
    """Sample an arm from the EXP3 policy: invert its CDF at one uniform per run."""
    cdf_AxN = jnp.cumsum(_exp3_probs(state["log_weights"], hp["gamma"]), axis=0)
    u_N = counter_rng.uniform(draws.words[0]) * cdf_AxN[-1]
    return jnp.minimum(jnp.sum(cdf_AxN <= u_N, axis=0), cdf_AxN.shape[0] - 1).astype(jnp.int32)


def _exp3_update(state: State, t: Array, actions_N: Array, rewards_N: Array, hp: dict) -> State:
    """Importance-weighted reward estimate r / p_a for the chosen arm; w_a *= exp(gamma * xhat / A)."""
    log_weights_AxN = state["log_weights"]
    num_actions = log_weights_AxN.shape[0]
    prob_N = _take(_exp3_probs(log_weights_AxN, hp["gamma"]), actions_N)
    gain_AxN = jnp.where(_one_hot(actions_N, num_actions), rewards_N / prob_N, 0.0)
    log_weights_AxN = log_weights_AxN + hp["gamma"] * gain_AxN / num_actions
    # Shift by the max: the policy is unchanged and the log-weights stay bounded.
    return {"log_weights": log_weights_AxN - jnp.max(log_weights_AxN, axis=0)}


def _exp3_defaults(horizon: int, num_actions: int) -> dict:
    """Auer et al. (2002), Cor. 3.2 with g = T: gamma = min(1, sqrt(A ln A / ((e - 1) T)))."""
    gamma = math.sqrt(num_actions * math.log(num_actions) / ((math.e - 1.0) * horizon))
    return {"gamma": min(1.0, gamma)}


def _sw_ucb_init(num_runs: int, num_actions: int, hp: dict) -> State:
    """Window counts and sums, a circular buffer of the last `window` (action, reward) rows (window, N),
    and the (action, reward) that leaves the window next round (N,)."""
    state = _counts_init(num_runs, num_actions, hp)
    state["buf_actions"] = jnp.zeros((hp["window"], num_runs), jnp.int32)
    state["buf_rewards"] = jnp.zeros((hp["window"], num_runs), jnp.float32)
    state["leaving_action"] = jnp.zeros((num_runs,), jnp.int32)
    state["leaving_reward"] = jnp.zeros((num_runs,), jnp.float32)
    return state


def _sw_ucb_select(state: State, t: Array, draws: Draws, hp: dict) -> Array:
    """SW-UCB: window mean + sqrt(xi ln(min(t, tau)) / N_t(tau, a)); arms absent from the window first."""
    numerator = hp["xi"] * jnp.log(jnp.maximum(jnp.minimum(t, hp["window"]), 1))
    scores_AxN = _ucb_scores(state["sums"], state["counts"], numerator)
    return _round_robin_first(t, counter_rng.random_argmax(draws.ties, scores_AxN), state["counts"].shape[0])


def _sw_ucb_update(state: State, t: Array, actions_N: Array, rewards_N: Array, hp: dict) -> State:
    """Add the new pull and, once the buffer is full, subtract the one leaving the window: O(A) a step."""
    window, num_actions = hp["window"], state["counts"].shape[0]
    leaving_AxN = _one_hot(state["leaving_action"], num_actions) & (t >= window)  # round t - window
    onehot_AxN = _one_hot(actions_N, num_actions)
    # Write row t % window, then read round t + 1 - window's row from the new buffer: a read of the old
    # buffer next to an in-place write makes XLA copy both buffers every round.
    buf_actions = jax.lax.dynamic_update_index_in_dim(state["buf_actions"], actions_N, t % window, 0)
    buf_rewards = jax.lax.dynamic_update_index_in_dim(state["buf_rewards"], rewards_N, t % window, 0)
    return {
        "counts": state["counts"] + onehot_AxN - leaving_AxN,
        "sums": (
            state["sums"] + jnp.where(onehot_AxN, rewards_N, 0.0) - jnp.where(leaving_AxN, state["leaving_reward"], 0.0)
        ),
        "buf_actions": buf_actions,
        "buf_rewards": buf_rewards,
        "leaving_action": jax.lax.dynamic_index_in_dim(buf_actions, (t + 1) % window, keepdims=False),
        "leaving_reward": jax.lax.dynamic_index_in_dim(buf_rewards, (t + 1) % window, keepdims=False),
    }


def _sw_ucb_defaults(horizon: int, num_actions: int) -> dict:
    """Garivier & Moulines (2011) with B = 1 and one breakpoint: tau = int(2 sqrt(T ln T)), xi = 0.6."""
    return {"window": max(1, int(2.0 * math.sqrt(horizon * math.log(horizon)))), "xi": 0.6}


def _d_ucb_select(state: State, t: Array, draws: Draws, hp: dict) -> Array:
    """D-UCB: discounted mean + 2 sqrt(xi ln n_t(gamma) / N_t(gamma, a)), n_t = sum_a N_t(gamma, a)."""
    total_N = jnp.sum(state["counts"], axis=0)
    numerator_N = 4.0 * hp["xi"] * jnp.log(jnp.maximum(total_N, 1.0))
    scores_AxN = _ucb_scores(state["sums"], state["counts"], numerator_N)
    return _round_robin_first(t, counter_rng.random_argmax(draws.ties, scores_AxN), state["counts"].shape[0])


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
    "ucb1": Algorithm(
        _counts_init,
        _ucb1_select,
        _counts_update,
        lambda T, A: {"c": 2.0},
        lambda hp: _checks.check_positive("c", hp["c"], allow_zero=True),
    ),
    "thompson": Algorithm(
        _counts_init,
        _thompson_select,
        _counts_update,
        lambda T, A: {"prior": "beta"},
        lambda hp: _checks.check_choice("prior", hp["prior"], ("beta", "gaussian")),
    ),
    "greedy": Algorithm(_counts_init, _greedy_select, _counts_update),
    "eps_greedy": Algorithm(
        _counts_init,
        _eps_greedy_select,
        _counts_update,
        lambda T, A: {"epsilon": 0.1},
        lambda hp: _checks.check_in_range("epsilon", hp["epsilon"], 0.0, 1.0),
        num_words=2,
    ),
    "exp3": Algorithm(
        _exp3_init,
        _exp3_select,
        _exp3_update,
        _exp3_defaults,
        lambda hp: _check_unit_interval("gamma", hp["gamma"], "EXP3 exploration rate"),
        num_words=1,
    ),
    "sw_ucb": Algorithm(_sw_ucb_init, _sw_ucb_select, _sw_ucb_update, _sw_ucb_defaults, _check_window),
    "d_ucb": Algorithm(_counts_init, _d_ucb_select, _d_ucb_update, _d_ucb_defaults, _check_discount),
}


def register(algorithms: dict) -> None:
    """Add {name: Algorithm} entries to ALGORITHMS; ValueError if a name is already registered (nothing added)."""
    taken = sorted(set(algorithms) & set(ALGORITHMS))
    if taken:
        raise ValueError(f"bandit algorithm name(s) {taken} already registered; pick new names.")
    ALGORITHMS.update(algorithms)


def resolve_hparams(name: str, horizon: int, num_actions: int, /, **hparams: Any) -> tuple:
    """Validate hyperparameters, fill defaults (None means default) and return sorted hashable items.

    The first three are positional-only, so a hyperparameter may be called `horizon` (MOSS's known T)."""
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


def _arms_major_table(rewards: Array) -> Array:
    """Reward table (T, A) or (N, T, A) -> (T, A, B), B = 1 (shared by all runs) or N, arms-major like the state."""
    rewards = jnp.asarray(rewards, jnp.float32)
    return rewards[:, :, None] if rewards.ndim == 2 else jnp.transpose(rewards, (1, 2, 0))


def _segment_starts_next(means_TxA: Array) -> Array:
    """True at t where round t + 1 opens a new segment (means_TxA[t + 1] != means_TxA[t]) -> (T,) bool."""
    changed_T = jnp.any(means_TxA[1:] != means_TxA[:-1], axis=1)
    return jnp.concatenate([changed_T, jnp.zeros((1,), bool)])  # nothing follows the last round


def make_bandit_fn(name: str, num_runs: int, hparams: tuple = ()) -> Callable:
    """Pure, unjitted fn(key, means_TxA, rewards=None) -> (actions_NxT, rewards_NxT); hparams from resolve_hparams."""
    algorithm, hp = ALGORITHMS[name], dict(hparams)

    def rollout(key: Array, means_TxA: Array, rewards: Array | None = None) -> tuple[Array, Array]:
        """Scan over rounds; rewards come from the table when given, else Bernoulli(means) draws."""
        horizon, num_actions = means_TxA.shape
        means_TxAx1 = jnp.asarray(means_TxA, jnp.float32)[:, :, None]
        table_TxAxB = None if rewards is None else _arms_major_table(rewards)
        key_words, key_ties, key_alg = jax.random.split(key, 3)
        key_2 = jax.random.bits(key_words, (2,), _U32)  # Threefry key pair for the per-round words
        seeds_N = jax.random.bits(key_ties, (num_runs,), _U32)
        select_blocks = -(-algorithm.num_words // 2)  # the Bernoulli word comes from the next block

        def draws_at(t):
            """Round t's (ties, words) for select."""
            return counter_rng.tie_words(seeds_N, t), tuple(
                counter_rng.threefry_words(key_2, t, num_runs, algorithm.num_words)
            )

        def reward_word_at(t):
            """Round t's Bernoulli word per run (none with a reward table)."""
            if table_TxAxB is not None:
                return jnp.zeros((), _U32)
            return counter_rng.threefry_words(key_2, t, num_runs, 1, select_blocks)[0]

        def select_at(state, t, draws):
            """Round t's actions."""
            return algorithm.select(state, t, Draws(*draws, key_alg), hp)

        def step(carry, xs):
            """Round t: rewards and update, then round t + 1's actions.

            Software-pipelined: round t's actions and words arrive in the carry, made in round t - 1.
            Made here, XLA would fuse the argmax or Threefry chain into each (A, N) consumer and repeat it
            once per arm; through the carry each is computed once."""
            state, actions_N, reward_word_N, next_draws = carry
            t, means_Ax1, table_AxB, restart_next = xs
            if table_AxB is None:
                rewards_N = (counter_rng.uniform(reward_word_N) < _take(means_Ax1, actions_N)).astype(jnp.float32)
            else:
                rewards_N = _take(table_AxB, actions_N)
            state = algorithm.update(state, t, actions_N, rewards_N, hp)
            if restart_next is not None:
                # Round t + 1 opens a new segment: it acts from a fresh state (randomness keeps its global round).
                state = jax.tree.map(lambda fresh, old: jnp.where(restart_next, fresh, old), init_state, state)
            carry = (state, select_at(state, t + 1, next_draws), reward_word_at(t + 1), draws_at(t + 2))
            return carry, (actions_N.astype(actions_dtype), rewards_N.astype(rewards_dtype))

        # Narrow per-round outputs: the (T, N) -> (N, T) transposes move fewer bytes. The barrier keeps
        # XLA from widening before it transposes (measured: about 5 ms of 30 ms at N = 4096, T = 1000).
        actions_dtype = jnp.int8 if num_actions <= 128 else jnp.int32
        rewards_dtype = jnp.bool_ if table_TxAxB is None else jnp.float32
        init_state, zero = algorithm.init(num_runs, num_actions, hp), jnp.int32(0)
        init = (init_state, select_at(init_state, zero, draws_at(zero)), reward_word_at(zero), draws_at(zero + 1))
        restart_T = _segment_starts_next(means_TxAx1[:, :, 0]) if algorithm.restarts else None
        xs = (jnp.arange(horizon), means_TxAx1, table_TxAxB, restart_T)
        _, (actions_TxN, rewards_TxN) = jax.lax.scan(step, init, xs)
        actions_NxT, rewards_NxT = jax.lax.optimization_barrier((actions_TxN.T, rewards_TxN.T))
        return actions_NxT.astype(jnp.int32), rewards_NxT.astype(jnp.float32)

    return rollout


@functools.cache
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
    _checks.check_int("num_runs", num_runs, 1)
    if rewards is None:
        _checks.check_in_range("means (Bernoulli arm means)", means, 0.0, 1.0)
        return
    if np.shape(rewards) not in ((horizon, num_actions), (num_runs, horizon, num_actions)):
        raise ValueError(
            f"rewards must have shape (T, A) = {(horizon, num_actions)} or (num_runs, T, A) = "
            f"{(num_runs, horizon, num_actions)}, got {np.shape(rewards)}."
        )


def run_bandit(
    name: str, key: Array, means: Array, num_runs: int = 1, rewards: Array | None = None, **hparams: Any
) -> tuple[jax.Array, jax.Array]:
    """Run bandit algorithm `name` for num_runs independent runs -> (actions (N, T) int32, rewards (N, T) f32).

    `means` (T, A) are per-round Bernoulli means (non-stationary instances allowed). Realized
    `rewards` (T, A) or (N, T, A) replace the Bernoulli draws (common random numbers; Gaussian arms);
    `means` is then only used for its shape, and by the restart oracles for its change points (shared by
    all runs). Hyperparameters (None = default):
      ucb1: c=2.0 (bonus sqrt(c ln t / n_a)).  greedy: none.  eps_greedy: epsilon=0.1.
      thompson: prior='beta' (Beta(1, 1)) or 'gaussian'.  exp3: gamma=min(1, sqrt(A ln A / ((e - 1) T))).
      sw_ucb: window=int(2 sqrt(T ln T)), xi=0.6.  d_ucb: discount=1 - 1/(4 sqrt(T)), xi=0.6.
    Classical references (bandit_references.py):
      kl_ucb: c=3.0 (f(t) = ln t + c ln ln t).  moss: horizon=T.
      tsallis_inf: estimator='reduced_variance' (eta_t = 4/sqrt(t)) or 'importance_weighted' (2/sqrt(t)).
      discounted_thompson: discount=1 - 1/(4 sqrt(T)).
    Oracles that read the true change points of `means` (upper references, not algorithms):
      ucb1_restart: c=2.0.  thompson_restart: none.
    kl_ucb, discounted_thompson and thompson_restart need reward tables in [0, 1].
    """
    _checks.check_choice("bandit algorithm", name, ALGORITHMS)
    _check_inputs(means, num_runs, rewards)
    horizon, num_actions = np.shape(means)
    items = resolve_hparams(name, horizon, num_actions, **hparams)
    if ALGORITHMS[name].unit_rewards and rewards is not None:
        _checks.check_in_range(f"rewards (for {name}, a Bernoulli-reward model)", rewards, 0.0, 1.0)
    if name == "thompson" and dict(items)["prior"] == "beta" and rewards is not None:
        # A Beta posterior needs rewards in [0, 1]; the Gaussian one takes any real rewards.
        _checks.check_in_range("rewards (for prior='beta'; use prior='gaussian' for others)", rewards, 0.0, 1.0)
    return compiled_bandit_fn(name, int(num_runs), items)(key, means, rewards)
