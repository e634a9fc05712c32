"""Iterative RMFT on stochastic MAB (K = 5, T = 100). Variants: '' (default), 'smoke', 'transformer', 'greedy_sweep'.

Training instances: best arm 0.5 + D/2, the others 0.5 - D/2, D ~ U[0.1, 0.5], best arm at a random
position. Held out: Krishnamurthy et al.'s hard instance (D = 0.2, best arm at a random position).
k = 4 of L = 16 is the default because k = 2 ends with SuffFailFreq(T/2) above 0.05 (docs/bandits.md).
"""

import ml_collections


def base_config() -> ml_collections.ConfigDict:
    """Settings shared by the bandit experiments (MAB defaults)."""
    c = ml_collections.ConfigDict()
    c.task = "mab"  # mab (pseudo-regret) | nsmab (dynamic regret)
    c.seed = 0
    # Memory this run may use, in GiB, for the size check before compiling (rmft_jax/tasks/settings.check_memory):
    # 0 = what the machine reports available. May change on resume.
    c.memory_limit_gb = 0.0
    c.env = ml_collections.ConfigDict()
    c.env.name = "gap"
    c.env.horizon = 100
    c.env.num_actions = 5
    c.env.gap_range = (0.1, 0.5)
    c.env.random_best_arm = True

    c.model = ml_collections.ConfigDict()
    c.model.name = "linear_attention"
    c.model.init_scale = 0.1
    c.model.time_feature = False  # tokens (one-hot a, r * one-hot a) [+ t/T]

    # Seeds per init: scratch = the model as built; greedy = first fitted to Greedy's trajectories.
    c.inits = ml_collections.ConfigDict()
    c.inits.scratch = 1
    c.inits.greedy = 5
    c.greedy_init = ml_collections.ConfigDict()
    c.greedy_init.num_rounds = 20  # imitation rounds, each on fresh Greedy trajectories
    c.greedy_init.num_scenarios = 256
    c.greedy_init.sft_steps = 50

    c.rmft = ml_collections.ConfigDict()
    c.rmft.num_iterations = 60
    c.rmft.num_scenarios = 256  # M
    c.rmft.num_rollouts = 16  # L
    c.rmft.num_selected = 4  # k (k = 2 locks in: SuffFailFreq(T/2) 0.08-0.13, docs/bandits.md)
    c.rmft.selection = "regret"  # regret | reward | random
    c.rmft.temperature = 1.0  # the policy: softmax(logits / temperature) (evaluation, SFT, load_policy)
    c.rmft.rollout_temperature = 1.0  # sampling temperature of the training rollouts

    # What an iteration trains on (rmft_jax/core/paradigms.py): rmft | distill (SFT on a bandit algorithm's
    # rollouts, `teacher`: ucb1, thompson, sw_ucb, ...) | policy_gradient (return = reward or minus regret).
    c.paradigm = ml_collections.ConfigDict()
    c.paradigm.name = "rmft"
    c.paradigm.teacher = "ucb1"
    c.paradigm.pg_return = "reward"
    c.paradigm.clip = 0.2
    # Every bandit rollout is its own SFT row: "k" trains distillation and the policy gradient on k rollouts per
    # scenario (RMFT's batch, M*k rows: the teacher plays k; the policy gradient keeps k random of its L, advantages
    # from all L), "all" on all M*L (4x slower).
    c.paradigm.rows = "k"

    c.sft = ml_collections.ConfigDict()
    c.sft.num_steps = 50
    c.sft.learning_rate = 3e-3
    c.sft.optimizer = "adam"
    c.sft.grad_clip = 0.0
    # Stop as diverged when an iteration's loss grows this many times its first step (signed losses: |loss| vs the
    # run's first step; rmft_jax/training/train_loop.loss_out_of_bounds); 0 = off. May change on resume.
    c.sft.divergence_factor = 1e3
    # forward (the model's forward pass every step; every quoted number) | moments (linear attention without the
    # time feature: each arm's prefix sums once per update, then no prefix sum per step; other float rounding).
    c.sft.form = "forward"

    c.eval = ml_collections.ConfigDict()
    c.eval.env = ml_collections.ConfigDict()
    c.eval.env.name = "gap"
    c.eval.env.gap = 0.2
    c.eval.env.random_best_arm = True
    c.eval.num_scenarios = 2000
    c.eval.every = 5
    c.eval.baselines = ("ucb1", "thompson", "greedy", "exp3")
    # Graded against (bandit_eval.reference_kind): parameter-free algorithms, and informed policies on the exact
    # posterior of the training prior (cfg.env), the best of which bounds the Bayes-optimal regret from above.
    # eps_greedy (epsilon = 0.1, the textbook default) is last so that the others keep their keys (fold_in by index).
    c.eval.references = (
        "kl_ucb",
        "moss",
        "tsallis_inf",
        "gap_bayes_greedy",
        "gap_bayes_thompson",
        "gap_bayes_kg",
        "eps_greedy",
    )

    c.checkpoint = ml_collections.ConfigDict()
    c.checkpoint.max_to_keep = 2
    c.checkpoint.every = 20  # save every N iterations and after the last (a resumed run redoes at most N - 1)
    return c


def apply_variant(c: ml_collections.ConfigDict, variant: str) -> ml_collections.ConfigDict:
    """'smoke': tiny and fast; 'transformer': a 2-layer transformer; 'greedy_sweep': greedy init only, more seeds;
    'distill_bayes': distillation of the best informed policy of the training prior (an attempt to reach the limit);
    a suffix 'on_prior' ('on_prior', 'distill_bayes_on_prior') scores 5 scratch seeds on the training prior itself."""
    on_prior = variant.endswith("on_prior")
    variant = variant.removesuffix("on_prior").rstrip("_") if on_prior else variant
    if on_prior:  # the limit's goal holds on the training distribution too, not only on the hard instance
        c.eval.env = ml_collections.ConfigDict(c.env.to_dict())
        c.inits.scratch, c.inits.greedy = 5, 0
    if variant == "distill_bayes":  # MAB: greedy on the exact gap posterior; NS-MAB: KG on the particle filter
        c.paradigm.name = "distill"
        c.paradigm.teacher = "gap_bayes_greedy" if c.task == "mab" else "abrupt_bayes_kg"
        c.inits.greedy = 0
    elif variant == "smoke":
        c.env.horizon = 12
        c.inits.greedy = 2
        c.greedy_init.num_rounds, c.greedy_init.num_scenarios, c.greedy_init.sft_steps = 2, 16, 5
        c.rmft.num_iterations = 3
        c.rmft.num_scenarios, c.rmft.num_rollouts = 16, 4
        c.sft.num_steps = 5
        c.eval.num_scenarios = 32
        c.eval.every = 1
        c.checkpoint.every = 1  # the driver tests stop and resume smoke runs at any iteration
        # One prior-free and one informed reference (a graded smoke run); each reference is one more compile.
        c.eval.references = (
            ("kl_ucb", "gap_bayes_greedy") if c.task == "mab" else ("ucb1_restart", "abrupt_bayes_greedy")
        )
    elif variant == "transformer":
        c.model = ml_collections.ConfigDict()
        c.model.name = "transformer"
        c.model.num_layers = 2
        c.model.num_heads = 2
        c.model.d_model = 32
        c.model.time_feature = False
        c.inits.greedy = 1
        c.sft.num_steps = 20
        c.sft.learning_rate = 1e-3
        c.sft.grad_clip = 1.0
    elif variant == "greedy_sweep":
        c.inits.scratch = 0
        c.inits.greedy = 5
        c.rmft.num_iterations = 80
    elif variant:
        raise ValueError(
            f"unknown variant {variant!r}; choose '', 'smoke', 'transformer', 'greedy_sweep' or "
            "'distill_bayes', optionally with the suffix 'on_prior'."
        )
    return c


def get_config(variant: str = "") -> ml_collections.ConfigDict:
    """Default config; `--config=experiments/configs/mab.py:smoke` for the smoke variant."""
    return apply_variant(base_config(), variant)
