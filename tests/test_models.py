"""Tests for the policy models: causality, shapes, references, recurrent form, Hedge, bad input."""

import chex
import flax.nnx as nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized

from rmft_jax import models
from rmft_jax.models import apply, hedge_params, init_state, make_model, readout, step

NUM_ACTIONS = 3
HORIZON = 6
# (name, kwargs): the two defaults plus a transformer variant with learned positions and RMSNorm.
CONFIGS = {
    "linear_attention": ("linear_attention", {"init_scale": 1.0}),
    "linear_attention_query": ("linear_attention", {"init_scale": 1.0, "learned_query": True, "input_dim": 4}),
    "shared_linear_attention": ("shared_linear_attention", {"init_scale": 1.0}),
    "time_linear_attention": ("time_linear_attention", {"init_scale": 1.0}),
    "transformer": ("transformer", {}),
    "transformer_learned": ("transformer", {"positions": "learned", "norm": "rmsnorm", "max_horizon": 8}),
    "transformer_sin": ("transformer", {"positions": "sinusoidal", "norm": "none", "num_layers": 1}),
}
NAMED_CONFIGS = [(key, key) for key in CONFIGS]
# Eager JAX compiles every op per shape; one jitted forward (cached per config and shape) is faster.
_apply = jax.jit(apply)


def _model(key, seed=0):
    """(graphdef, params, input_dim) of the named test config."""
    name, kwargs = CONFIGS[key]
    model = make_model(name, NUM_ACTIONS, seed=seed, **kwargs)
    graphdef, params = nnx.split(model)
    return graphdef, params, model.input_dim


def _rewards(shape, seed=1):
    """Uniform [0, 1) rewards of the given shape."""
    return jax.random.uniform(jax.random.key(seed), shape)


@pytest.mark.parametrize("key", list(CONFIGS))
@pytest.mark.parametrize("t", [0, 2, HORIZON - 1])
def test_causality(key, t):
    """Changing rewards of rounds >= t leaves logits of rounds <= t unchanged and changes round t+1."""
    graphdef, params, dim = _model(key)
    rewards_BxTxD = _rewards((2, HORIZON, dim))
    future_BxTxD = rewards_BxTxD.at[:, t:].add(5.0 * _rewards((2, HORIZON - t, dim), seed=7))
    logits_BxTxA = _apply(graphdef, params, rewards_BxTxD)
    perturbed_BxTxA = _apply(graphdef, params, future_BxTxD)
    np.testing.assert_allclose(perturbed_BxTxA[:, : t + 1], logits_BxTxA[:, : t + 1], atol=1e-6, rtol=0)
    if t + 1 < HORIZON:
        assert np.abs(perturbed_BxTxA[:, t + 1] - logits_BxTxA[:, t + 1]).max() > 1e-4


class ModelTest(chex.TestCase):
    """Shapes, jit/no-jit agreement and gradients for every config."""

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*NAMED_CONFIGS)
    def test_shapes_and_jit(self, key):
        """Arbitrary leading batch dims; finite; jitted and eager results agree."""
        graphdef, params, dim = _model(key)
        forward = self.variant(apply)
        # Leads that flatten to the same batch keep eager mode's per-shape op compilations few.
        for lead in [(6,), (2, 3), (3, 1, 2)]:
            rewards = _rewards(lead + (HORIZON, dim))
            logits = forward(graphdef, params, rewards)
            chex.assert_shape(logits, lead + (HORIZON, NUM_ACTIONS))
            chex.assert_tree_all_finite(logits)
            np.testing.assert_allclose(logits, _apply(graphdef, params, rewards), atol=1e-5, rtol=1e-5)

    @parameterized.named_parameters(*NAMED_CONFIGS)
    def test_gradient_finite_and_nonzero(self, key):
        """Cross-entropy gradient w.r.t. every parameter leaf is finite and nonzero."""
        graphdef, params, dim = _model(key)
        rewards_BxTxD = _rewards((3, HORIZON, dim))
        actions_BxT = jax.random.randint(jax.random.key(2), (3, HORIZON), 0, NUM_ACTIONS)

        def loss(params):
            logp_BxTxA = jax.nn.log_softmax(apply(graphdef, params, rewards_BxTxD))
            return -jnp.take_along_axis(logp_BxTxA, actions_BxT[..., None], axis=-1).mean()

        grads = jax.jit(jax.grad(loss))(params)
        chex.assert_trees_all_equal_shapes(grads, params)
        chex.assert_tree_all_finite(grads)
        for path, leaf in jax.tree_util.tree_leaves_with_path(grads):
            assert np.abs(leaf).max() > 0, f"zero gradient at {jax.tree_util.keystr(path)}"

    @parameterized.named_parameters(*NAMED_CONFIGS)
    def test_step_matches_full_pass(self, key):
        """A jitted lax.scan of init_state/readout/step reproduces the one-pass logits."""
        graphdef, params, dim = _model(key)
        rewards_BxTxD = _rewards((2, 3, HORIZON, dim))

        def rollout(params, rewards_BxTxD):
            state = init_state(graphdef, params, (2, 3), HORIZON)
            first_BxA = readout(graphdef, params, state)

            def body(state, reward_BxD):
                logits_BxA, state = step(graphdef, params, state, reward_BxD)
                return state, logits_BxA

            # Rounds 0..T-2's rewards give logits of rounds 1..T-1.
            _, rest_TxBxA = jax.lax.scan(body, state, jnp.moveaxis(rewards_BxTxD[..., :-1, :], -2, 0))
            return jnp.moveaxis(jnp.concatenate([first_BxA[None], rest_TxBxA]), 0, -2)

        np.testing.assert_allclose(
            jax.jit(rollout)(params, rewards_BxTxD), _apply(graphdef, params, rewards_BxTxD), atol=1e-5, rtol=1e-5
        )


def _numpy_linear_attention(params, rewards_BxTxD, query_D1=None):
    """Float64 loop over rounds of logits_t = b + sum_{i<t} (V x_i) <K x_i, Q c>."""
    V, K, Q, b = (np.asarray(params[name][...], np.float64) for name in "VKQb")
    rewards_BxTxD = np.asarray(rewards_BxTxD, np.float64)
    batch, horizon, dim = rewards_BxTxD.shape
    c = np.eye(dim + 1)[-1] if query_D1 is None else np.asarray(query_D1, np.float64)
    logits = np.zeros((batch, horizon, V.shape[0]))
    for n in range(batch):
        for t in range(horizon):
            total = b.copy()
            for i in range(t):
                x = np.append(rewards_BxTxD[n, i], 1.0)
                total += (V @ x) * np.dot(K @ x, Q @ c)
            logits[n, t] = total
    return logits


@pytest.mark.parametrize("learned_query", [False, True])
def test_linear_attention_matches_numpy_loop(learned_query):
    """Cumsum implementation equals the formula evaluated by a plain float64 loop."""
    model = make_model("linear_attention", 4, seed=3, init_scale=0.5, key_dim=3, learned_query=learned_query)
    model.b[...] = jax.random.normal(jax.random.key(4), (4,))
    if learned_query:
        model.query[...] = jax.random.normal(jax.random.key(5), (5,))
    graphdef, params = nnx.split(model)
    rewards_BxTxD = _rewards((3, 7, 4))
    query = params["query"][...] if learned_query else None
    expected = _numpy_linear_attention(params, rewards_BxTxD, query)
    np.testing.assert_allclose(_apply(graphdef, params, rewards_BxTxD), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("eta", [0.0, 0.5, 3.0])
def test_hedge_params_reproduce_hedge(eta):
    """softmax of the Hedge parameters' logits is softmax(eta * exclusive cumsum of rewards)."""
    graphdef, params = hedge_params(eta, 5)
    rewards_BxTxA = _rewards((4, 9, 5))
    cumulative_BxTxA = jnp.cumsum(rewards_BxTxA, axis=-2) - rewards_BxTxA
    expected = jax.nn.softmax(eta * cumulative_BxTxA, axis=-1)
    got = jax.nn.softmax(_apply(graphdef, params, rewards_BxTxA), axis=-1)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_transformer_matches_prefix_recomputation():
    """Each round's logits equal the last position of a fresh pass over that round's prefix only."""
    graphdef, params, dim = _model("transformer")
    rewards_BxTxD = _rewards((2, HORIZON, dim))
    logits_BxTxA = _apply(graphdef, params, rewards_BxTxD)
    for t in range(HORIZON):
        # Round t's reward is never an input to round t: fill it with garbage.
        prefix_BxTxD = jnp.concatenate([rewards_BxTxD[:, :t], jnp.full((2, 1, dim), 1e3)], axis=1)
        np.testing.assert_allclose(_apply(graphdef, params, prefix_BxTxD)[:, -1], logits_BxTxA[:, t], atol=1e-5)


def test_transformer_shorter_horizon_and_learned_limit():
    """A model runs at horizons up to max_horizon; beyond it the learned table raises ValueError."""
    graphdef, params, dim = _model("transformer_learned")
    chex.assert_shape(_apply(graphdef, params, _rewards((8, dim))), (8, NUM_ACTIONS))
    chex.assert_shape(_apply(graphdef, params, _rewards((1, dim))), (1, NUM_ACTIONS))
    with pytest.raises(ValueError, match="max_horizon"):
        _apply(graphdef, params, _rewards((9, dim)))
    with pytest.raises(ValueError, match="max_horizon"):
        init_state(graphdef, params, (), 9)


@pytest.mark.parametrize(
    "name, num_actions, kwargs, match",
    [
        ("mlp", 3, {}, "linear_attention"),
        ("linear_attention", 1, {}, "num_actions"),
        ("transformer", 1, {}, "num_actions"),
        ("transformer", 3, {"num_layers": 0}, "num_layers"),
        ("transformer", 3, {"d_model": 30, "num_heads": 4}, "divisible"),
        ("transformer", 3, {"norm": "batchnorm"}, "layernorm"),
        ("transformer", 3, {"positions": "rope"}, "sinusoidal"),
        ("linear_attention", 3, {"init_scale": -1.0}, "init_scale"),
        ("shared_linear_attention", 3, {"input_dim": 6}, "no bandit-token form"),
    ],
)
def test_bad_config_raises(name, num_actions, kwargs, match):
    """Invalid settings fail at construction with a message naming what to fix."""
    with pytest.raises(ValueError, match=match):
        make_model(name, num_actions, **kwargs)


@pytest.mark.parametrize("key", ["linear_attention", "transformer"])
def test_bad_rewards_raise(key):
    """Rewards with the wrong last axis, no round axis or zero rounds raise ValueError."""
    graphdef, params, dim = _model(key)
    for shape in [(HORIZON, dim + 1), (dim,), (2, 0, dim)]:
        with pytest.raises(ValueError, match="rewards"):
            _apply(graphdef, params, jnp.zeros(shape))
    with pytest.raises(ValueError, match="reward"):
        # eval_shape traces without compiling: the check fires at trace time.
        jax.eval_shape(
            lambda: step(graphdef, params, init_state(graphdef, params, (2,), HORIZON), jnp.zeros((2, dim + 1)))
        )


def test_exports():
    """The package exports the classes and the registry of names."""
    assert set(models.MODELS) == {"linear_attention", "shared_linear_attention", "time_linear_attention", "transformer"}
    assert isinstance(make_model("transformer", 2), models.Transformer)
    assert isinstance(make_model("linear_attention", 2), models.LinearAttention)
    with pytest.raises(ValueError, match="horizon"):
        init_state(*nnx.split(make_model("transformer", 2)), (1,))


@pytest.mark.parametrize("name", ["linear_attention", "transformer"])
def test_jit_traces_once_across_fresh_models(name):
    """Graphdefs of equally configured models compare equal, so a jitted apply does not retrace."""
    chex.clear_trace_counter()
    forward = jax.jit(chex.assert_max_traces(apply, n=1))
    for seed in range(3):
        graphdef, params = nnx.split(make_model(name, NUM_ACTIONS, seed=seed))
        forward(graphdef, params, _rewards((2, HORIZON, NUM_ACTIONS), seed=seed))


def _shared(alpha, kappa, kappa0):
    """(graphdef, params) of a shared linear-attention model with the given scalars."""
    model = make_model("shared_linear_attention", NUM_ACTIONS)
    model.alpha[...] = jnp.float32(alpha)
    model.kappa[...] = jnp.array([kappa, kappa0], jnp.float32)
    return nnx.split(model)


def test_shared_model_is_the_equivariant_restriction_of_linear_attention():
    """LinearAttention at equivariant parameters gives the shared model's policies (logits up to a constant)."""
    a, c, g, k, k0, beta, num = 1.3, -0.7, 0.4, 0.9, 0.6, 0.25, NUM_ACTIONS
    model = make_model("linear_attention", num, init_scale=0.0)
    model.V[...] = jnp.concatenate([a * jnp.eye(num) + c / num, jnp.full((num, 1), g)], axis=1)
    # K^T Q c = K[0] when Q c = e_0 (the constant query c is the bias coordinate).
    model.Q[...] = jnp.zeros((num + 1, num + 1)).at[0, -1].set(1.0)
    model.K[...] = jnp.zeros((num + 1, num + 1)).at[0].set(jnp.append(jnp.full((num,), k / num), k0))
    model.b[...] = jnp.full((num,), beta)
    rewards = _rewards((4, HORIZON, num))
    full = apply(*nnx.split(model), rewards)
    shared = apply(*_shared(a, k, k0), rewards)
    diff = np.asarray(full - shared)
    np.testing.assert_allclose(diff, diff[..., :1] * np.ones_like(diff), atol=1e-5)  # constant over actions
    assert np.abs(np.asarray(shared)).max() > 0.1


def test_shared_model_is_permutation_equivariant_and_runs_at_any_action_count():
    graphdef, params = _shared(0.8, 1.5, 0.5)
    for num in (2, 3, 7):
        rewards = _rewards((2, HORIZON, num), seed=num)
        perm = np.random.default_rng(num).permutation(num)
        logits = apply(graphdef, params, rewards)
        chex.assert_shape(logits, (2, HORIZON, num))
        np.testing.assert_allclose(apply(graphdef, params, rewards[..., perm]), logits[..., perm], atol=1e-6)
        # A numpy loop: logits_t(a) = alpha * sum_{i<t} r_i(a) (kappa mean(r_i) + kappa_0).
        r = np.asarray(rewards, np.float64)
        want = np.zeros_like(r)
        for t in range(1, HORIZON):
            w = 1.5 * r[:, :t].mean(-1) + 0.5
            want[:, t] = 0.8 * np.sum(r[:, :t] * w[..., None], axis=1)
        np.testing.assert_allclose(logits, want, rtol=1e-5, atol=1e-5)


def test_shared_model_with_kappa_zero_is_hedge():
    from rmft_jax import baselines

    rewards = _rewards((3, HORIZON, 5))
    policies = jax.nn.softmax(apply(*_shared(2.0, 0.0, 1.5), rewards), axis=-1)
    np.testing.assert_allclose(policies, baselines.ftrl(rewards, 3.0, regularizer="entropy"), atol=1e-5)


def test_anytime_hedge_params_compute_anytime_hedge():
    """The time-aware model with `anytime_hedge_params(c)` plays Hedge with eta_t = c / sqrt(t) (1-indexed)."""
    from rmft_jax.baselines import full_info

    c = 2.5
    graphdef, params = models.anytime_hedge_params(c, NUM_ACTIONS)
    rewards_BxTxA = _rewards((3, 40, NUM_ACTIONS))
    ours = jax.nn.softmax(_apply(graphdef, params, rewards_BxTxA), axis=-1)
    np.testing.assert_allclose(ours, full_info.ftrl(rewards_BxTxA, c, schedule="anytime"), atol=1e-5)
    state = init_state(graphdef, params, (3,))
    for t in range(5):  # the recurrent form reads the round index it carries
        np.testing.assert_allclose(jax.nn.softmax(readout(graphdef, params, state), -1), ours[:, t], atol=1e-5)
        _, state = step(graphdef, params, state, rewards_BxTxA[:, t])
