"""Classical bandit references (KL-UCB, MOSS, Tsallis-INF, discounted Thompson) and change-point oracles.

Same (init, select, update) framework and arms-major (A, N) state as bandits.py, registered into its
ALGORITHMS on import (rmft_jax.baselines imports this module). Rounds are 0-indexed: round t has seen
t rewards; the papers' 1-indexed round is t + 1.

  kl_ucb               Garivier & Cappe (2011), Bernoulli kl, f(t) = ln t + c ln ln t (c = 3, their Thm. 1),
                       ln ln t taken as 0 while ln t < 1 (t = 2, where it is negative).
  moss                 Audibert & Bubeck (2009), horizon T known.
  tsallis_inf          Zimmert & Seldin (2021, JMLR 22(28)), alpha = 1/2, losses 1 - reward. Default: the
                       reduced-variance estimator with eta_t = 4/sqrt(t); 'importance_weighted': the IW
                       estimator with eta_t = 2/sqrt(t) (t 1-indexed; the two settings of their Theorem 1,
                       checked against the abstract and an independent implementation, not the PDF).
  discounted_thompson  Raj & Kalyani (2017, arXiv:1707.09727): Beta(1 + S_a, 1 + F_a), S and F discounted
                       for every arm every round; default discount D-UCB's 1 - 1/(4 sqrt(T)) (no paper
                       default found). Qi et al. (2023) analyse the Gaussian-prior variant, not this one.
  ucb1_restart, thompson_restart
                       ORACLES, not algorithms: UCB1 / Beta(1, 1) Thompson restarted at the TRUE change
                       points of the instance (they read means_TxA). Upper references for abrupt NS-MAB;
                       the change points come from run_bandit's `means` (T, A), shared by all runs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rmft_jax import _checks
from rmft_jax.baselines import counter_rng
from rmft_jax.baselines.bandits import (
    Algorithm,
    Array,
    Draws,
    State,
    _check_unit_interval,
    _counts_init,
    _counts_update,
    _d_ucb_defaults,
    _one_hot,
    _round_robin_first,
    _thompson_select,
    _ucb_scores,
    register,
)

KL_EPS = 1e-6  # Bernoulli-kl clamp: float32 keeps 1 - 1e-6 apart from 1, so both logs stay finite
KL_BISECTION_STEPS = 30  # halves [mean, 1] to 2^-30, below float32 resolution
NEWTON_STEPS = 24  # Tsallis-INF normalizer; from the safe start it needs ~log_1.5(sqrt A) + 5 steps
TSALLIS_ESTIMATORS = {"reduced_variance": 4.0, "importance_weighted": 2.0}  # eta_t = scale / sqrt(t), Thm. 1


# --- KL-UCB ---------------------------------------------------------------------------------------------


def bernoulli_kl(p: Array, q: Array) -> Array:
    """Bernoulli KL divergence kl(p, q), with p and q clamped to [KL_EPS, 1 - KL_EPS]."""
    p = jnp.clip(p, KL_EPS, 1.0 - KL_EPS)
    q = jnp.clip(q, KL_EPS, 1.0 - KL_EPS)
    return p * jnp.log(p / q) + (1.0 - p) * jnp.log((1.0 - p) / (1.0 - q))


def kl_ucb_level(t: Array, c: float) -> Array:
    """f(t) = ln t + c ln ln t, with ln ln t taken as 0 while ln t < 1 (t < e, where it would be negative)."""
    log_t = jnp.log(jnp.maximum(t, 1).astype(jnp.float32))
    return log_t + c * jnp.log(jnp.maximum(log_t, 1.0))


def kl_ucb_index(sums_AxN: Array, counts_AxN: Array, t: Array, c: float = 3.0) -> Array:
    """max{q in [mean, 1] : n kl(mean, q) <= f(t)} by bisection, +inf for untried arms -> (A, N)."""
    tried_AxN = counts_AxN > 0
    means_AxN = jnp.clip(jnp.where(tried_AxN, sums_AxN / jnp.maximum(counts_AxN, 1e-30), 0.0), 0.0, 1.0)
    budget_AxN = kl_ucb_level(t, c) / jnp.maximum(counts_AxN, 1e-30)  # kl(mean, q) <= f(t) / n

    def halve(_, bounds):
        """Keep lo feasible and hi infeasible (or 1): kl(mean, .) increases on [mean, 1]."""
        lo_AxN, hi_AxN = bounds
        mid_AxN = 0.5 * (lo_AxN + hi_AxN)
        feasible_AxN = bernoulli_kl(means_AxN, mid_AxN) <= budget_AxN
        return jnp.where(feasible_AxN, mid_AxN, lo_AxN), jnp.where(feasible_AxN, hi_AxN, mid_AxN)

    lo_AxN, _ = jax.lax.fori_loop(0, KL_BISECTION_STEPS, halve, (means_AxN, jnp.ones_like(means_AxN)))
    return jnp.where(tried_AxN, lo_AxN, jnp.inf)


def _kl_ucb_select(state: State, t: Array, draws: Draws, hp: dict) -> Array:
    """KL-UCB: one pull per arm in order, then argmax of the KL-UCB index."""
    scores_AxN = kl_ucb_index(state["sums"], state["counts"], t, hp["c"])
    return _round_robin_first(t, counter_rng.random_argmax(draws.ties, scores_AxN), state["counts"].shape[0])


# --- MOSS -----------------------------------------------------------------------------------------------


def moss_index(sums_AxN: Array, counts_AxN: Array, horizon: int) -> Array:
    """mean + sqrt(max(ln(T / (A n_a)), 0) / n_a), +inf for untried arms -> (A, N)."""
    num_actions = counts_AxN.shape[0]
    log_term_AxN = jnp.log(horizon / (num_actions * jnp.maximum(counts_AxN, 1.0)))
    return _ucb_scores(sums_AxN, counts_AxN, log_term_AxN)


def _moss_select(state: State, t: Array, draws: Draws, hp: dict) -> Array:
    """MOSS: one pull per arm in order, then argmax of the MOSS index."""
    scores_AxN = moss_index(state["sums"], state["counts"], hp["horizon"])
    return _round_robin_first(t, counter_rng.random_argmax(draws.ties, scores_AxN), state["counts"].shape[0])


def _check_moss(hp: dict) -> None:
    """MOSS: horizon an integer >= 1."""
    if int(hp["horizon"]) != hp["horizon"] or hp["horizon"] < 1:
        raise ValueError(f"horizon must be an integer >= 1 (MOSS's known T), got {hp['horizon']!r}.")


# --- Tsallis-INF ----------------------------------------------------------------------------------------


def tsallis_eta(t: Array, estimator: str) -> Array:
    """Theorem 1's learning rate for 0-indexed round t: 4/sqrt(t + 1) (reduced-variance), 2/sqrt(t + 1) (IW)."""
    return TSALLIS_ESTIMATORS[estimator] / jnp.sqrt(jnp.asarray(t, jnp.float32) + 1.0)


def tsallis_weights(cum_losses_AxN: Array, eta: Array, num_steps: int = NEWTON_STEPS) -> Array:
    """Tsallis-INF (alpha = 1/2) weights w_i = 4 (eta (L_i - x))^-2 with sum_i w_i = 1 -> (A, N).

    The paper's Algorithm 2 Newton step x <- x - (sum w - 1) / (eta sum w^{3/2}), written for
    s = eta (min L - x) / 2, so w_i = (a_i + s)^-2 with a_i = eta (L_i - min L) / 2. It starts at s = 1,
    where the best arm alone has w = 1: sum w is convex and decreasing in s, so from there Newton rises
    monotonically to the root (s* <= sqrt(A)) and never leaves the domain. A final division by the
    sum removes the float32 residual.
    """
    gaps_AxN = 0.5 * eta * (cum_losses_AxN - jnp.min(cum_losses_AxN, axis=0))

    def newton(_, s_N):
        """One Newton step on sum_i (a_i + s)^-2 = 1."""
        w_AxN = (gaps_AxN + s_N) ** -2
        return s_N + (jnp.sum(w_AxN, axis=0) - 1.0) / (2.0 * jnp.sum(w_AxN**1.5, axis=0))

    s_N = jax.lax.fori_loop(0, num_steps, newton, jnp.ones(cum_losses_AxN.shape[1:], cum_losses_AxN.dtype))
    w_AxN = (gaps_AxN + s_N) ** -2
    return w_AxN / jnp.sum(w_AxN, axis=0)


def sample_categorical(probs_AxN: Array, word_N: Array) -> Array:
    """Invert the CDF of probs (over axis 0) at one uniform per run, as EXP3 does -> (N,) int32."""
    cdf_AxN = jnp.cumsum(probs_AxN, axis=0)
    u_N = counter_rng.uniform(word_N) * cdf_AxN[-1]
    return jnp.minimum(jnp.sum(cdf_AxN <= u_N, axis=0), cdf_AxN.shape[0] - 1).astype(jnp.int32)


def _tsallis_init(num_runs: int, num_actions: int, hp: dict) -> State:
    """Zero estimated losses; round 0's weights are then uniform."""
    return {
        "cum_losses": jnp.zeros((num_actions, num_runs), jnp.float32),
        "probs": jnp.full((num_actions, num_runs), 1.0 / num_actions, jnp.float32),
    }


def _tsallis_select(state: State, t: Array, draws: Draws, hp: dict) -> Array:
    """Sample the arm from this round's weights (computed by the previous update)."""
    return sample_categorical(state["probs"], draws.words[0])


def _tsallis_update(state: State, t: Array, actions_N: Array, rewards_N: Array, hp: dict) -> State:
    """Add the loss estimate of loss = 1 - reward, then solve next round's weights (one Newton solve a round).

    Estimators (Zimmert & Seldin 2021, Sec. 3): importance-weighted lhat_i = 1[I_t = i] l_t / w_ti, or
    reduced-variance lhat_i = 1[I_t = i] (l_t - B_t(i)) / w_ti + B_t(i), B_t(i) = 1/2 1[w_ti >= eta_t^2]."""
    probs_AxN = state["probs"]
    chosen_AxN = _one_hot(actions_N, probs_AxN.shape[0])
    losses_N = 1.0 - rewards_N
    if hp["estimator"] == "reduced_variance":
        # lhat_i = 1[I_t = i] (l_t - B_t(i)) / w_ti + B_t(i), B_t(i) = 1/2 * 1[w_ti >= eta_t^2], for every arm.
        baseline_AxN = 0.5 * (probs_AxN >= tsallis_eta(t, hp["estimator"]) ** 2)
        estimates_AxN = jnp.where(chosen_AxN, (losses_N - baseline_AxN) / probs_AxN, 0.0) + baseline_AxN
    else:
        estimates_AxN = jnp.where(chosen_AxN, losses_N / probs_AxN, 0.0)
    cum_losses_AxN = state["cum_losses"] + estimates_AxN
    # The weights only see differences of the cumulative losses: shift by the min so they stay small.
    cum_losses_AxN = cum_losses_AxN - jnp.min(cum_losses_AxN, axis=0)
    return {"cum_losses": cum_losses_AxN, "probs": tsallis_weights(cum_losses_AxN, tsallis_eta(t + 1, hp["estimator"]))}


# --- Discounted Thompson sampling -----------------------------------------------------------------------


def _dts_init(num_runs: int, num_actions: int, hp: dict) -> State:
    """Zero discounted successes and failures."""
    zeros_AxN = jnp.zeros((num_actions, num_runs), jnp.float32)
    return {"successes": zeros_AxN, "failures": zeros_AxN}


def _dts_select(state: State, t: Array, draws: Draws, hp: dict) -> Array:
    """Argmax of one Beta(1 + S_a, 1 + F_a) sample per arm."""
    key_t = jax.random.fold_in(draws.key, t)
    samples_AxN = jax.random.beta(key_t, 1.0 + state["successes"], 1.0 + state["failures"])
    return counter_rng.random_argmax(draws.ties, samples_AxN)


def _dts_update(state: State, t: Array, actions_N: Array, rewards_N: Array, hp: dict) -> State:
    """S_a <- gamma S_a + r 1[a chosen], F_a <- gamma F_a + (1 - r) 1[a chosen], every arm every round."""
    chosen_AxN = _one_hot(actions_N, state["successes"].shape[0])
    return {
        "successes": hp["discount"] * state["successes"] + jnp.where(chosen_AxN, rewards_N, 0.0),
        "failures": hp["discount"] * state["failures"] + jnp.where(chosen_AxN, 1.0 - rewards_N, 0.0),
    }


# --- Change-point oracles -------------------------------------------------------------------------------


def _ucb1_restart_select(state: State, t: Array, draws: Draws, hp: dict) -> Array:
    """UCB1 on the current segment: untried arms first (lowest index), then mean + sqrt(c ln s / n_a).

    s = sum of counts = rounds since the last restart (t itself in the first segment, where this is
    exactly UCB1 with its round robin)."""
    counts_AxN = state["counts"]
    since_restart_N = jnp.sum(counts_AxN, axis=0)
    scores_AxN = _ucb_scores(state["sums"], counts_AxN, hp["c"] * jnp.log(jnp.maximum(since_restart_N, 1.0)))
    untried_AxN = counts_AxN == 0
    first_untried_N = jnp.argmax(untried_AxN, axis=0)
    best_N = counter_rng.random_argmax(draws.ties, scores_AxN)
    return jnp.where(jnp.any(untried_AxN, axis=0), first_untried_N, best_N).astype(jnp.int32)


def _thompson_restart_select(state: State, t: Array, draws: Draws, hp: dict) -> Array:
    """Beta(1, 1) Thompson sampling; the key is still folded with the global round t."""
    return _thompson_select(state, t, draws, {"prior": "beta"})


def _check_tsallis(hp: dict) -> None:
    """Tsallis-INF: a known loss estimator."""
    _checks.check_choice("estimator", hp["estimator"], TSALLIS_ESTIMATORS)


def _dts_defaults(horizon: int, num_actions: int) -> dict:
    """D-UCB's discount 1 - 1/(4 sqrt(T)) (Garivier & Moulines 2011); Raj & Kalyani give no default."""
    return {"discount": _d_ucb_defaults(horizon, num_actions)["discount"]}


register(
    {
        "kl_ucb": Algorithm(
            _counts_init,
            _kl_ucb_select,
            _counts_update,
            lambda T, A: {"c": 3.0},
            lambda hp: _checks.check_positive("c", hp["c"], allow_zero=True),
            unit_rewards=True,
        ),
        "moss": Algorithm(_counts_init, _moss_select, _counts_update, lambda T, A: {"horizon": T}, _check_moss),
        "tsallis_inf": Algorithm(
            _tsallis_init,
            _tsallis_select,
            _tsallis_update,
            lambda T, A: {"estimator": "reduced_variance"},
            _check_tsallis,
            num_words=1,
        ),
        "discounted_thompson": Algorithm(
            _dts_init,
            _dts_select,
            _dts_update,
            _dts_defaults,
            lambda hp: _check_unit_interval("discount", hp["discount"], "1 = Thompson"),
            unit_rewards=True,
        ),
        # Oracles (read the instance's true change points): upper references, not algorithms.
        "ucb1_restart": Algorithm(
            _counts_init,
            _ucb1_restart_select,
            _counts_update,
            lambda T, A: {"c": 2.0},
            lambda hp: _checks.check_positive("c", hp["c"], allow_zero=True),
            restarts=True,
        ),
        "thompson_restart": Algorithm(
            _counts_init, _thompson_restart_select, _counts_update, restarts=True, unit_rewards=True
        ),
    }
)
