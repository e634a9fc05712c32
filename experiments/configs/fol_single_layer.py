"""Iterative RMFT on FOL with the single-layer linear self-attention model.

Variants: '', smoke, adversarial, adversarial_smoke, time, distill_bayes.
"""

import ml_collections


def base_config() -> ml_collections.ConfigDict:
    """Settings shared by the FOL experiments (single-layer defaults)."""
    c = ml_collections.ConfigDict()
    c.task = "fol"  # the runner's key (rmft_jax.training.runner.EXPERIMENTS)
    c.seed = 0
    # Memory this run may use, in GiB, for the size check before compiling (rmft_jax/tasks/settings.check_memory):
    # 0 = what the machine reports available. May change on resume.
    c.memory_limit_gb = 0.0
    # Scenario distribution: FTL has linear regret on ftl_adversarial; stochastic is the theory's case.
    c.env = ml_collections.ConfigDict()
    c.env.horizon = 50
    c.env.num_actions = 5
    c.env.scenarios = ("stochastic", "ftl_adversarial")
    c.env.weights = (0.5, 0.5)

    c.model = ml_collections.ConfigDict()
    c.model.name = "linear_attention"
    c.model.init_scale = 0.1
    # Full-pass prefix sum over rounds: matmul (one strictly-lower-triangular matmul; fast on CPU) | cumsum
    # (XLA's cumsum; runs made before 2026-12 used it, and their saved configs say so).
    c.model.prefix_sum = "matmul"

    c.rmft = ml_collections.ConfigDict()
    # 40 iterations reach about 5.0 on this mixture (above Hedge); the drop below Hedge comes later
    # (docs/results_fol.md).
    c.rmft.num_iterations = 120
    c.rmft.num_scenarios = 256  # M
    c.rmft.num_rollouts = 16  # L
    c.rmft.num_selected = 2  # k
    c.rmft.selection = "regret"  # regret | reward | random
    c.rmft.exploration = "sample"  # sample (a_t ~ pi_t) | logit_noise
    # How sampled actions are drawn: inverse_cdf (one uniform per round and trajectory, integer actions until
    # selection: the fast path) | gumbel (jax.random.categorical on (M, L, T, A) logits, one-hot targets; runs
    # made before 2026-12 used it, and their saved configs say so). Another sampler is another random stream.
    c.rmft.sampler = "inverse_cdf"
    c.rmft.temperature = 1.0
    c.rmft.noise_std = 1.0  # logit noise, used by exploration='logit_noise'
    # True: each of a scenario's L rollouts draws its own table from the scenario's process (same means,
    # fresh noise), so the comparator varies across rollouts and regret and reward rank them differently.
    c.rmft.independent_rewards = False

    # Non-oblivious training scenarios (rmft_jax/tasks/fol/adversarial.py): shares of the M scenarios.
    c.adversary = ml_collections.ConfigDict()
    c.adversary.adaptive_share = 0.0  # played against adaptive adversaries (sequential rollouts)
    c.adversary.attack_share = 0.0  # tables made by a few attack steps on the current policy
    c.adversary.kinds = ("least_likely", "all_but_most_likely")  # rmft_jax.attacks.adaptive.ADVERSARIES
    c.adversary.adversary_prob = (0.5, 1.0)  # per scenario q ~ U[low, high]: P(round is adversarial)
    c.adversary.attack_steps = 20  # signed-gradient ascent steps on sigmoid logits
    c.adversary.attack_step_size = 0.5
    c.adversary.attack_init_scale = 2.0  # std of the attack's random starting logits

    # What an iteration trains on (rmft_jax/core/paradigms.py): rmft (keep the k lowest-regret rollouts, SFT) |
    # distill (SFT on a teacher's rollouts) | regret_loss (gradient of the expected regret) | policy_gradient.
    c.paradigm = ml_collections.ConfigDict()
    c.paradigm.name = "rmft"
    c.paradigm.teacher = "hedge"  # distill: hedge | ftl
    c.paradigm.teacher_eta = 0.0  # distill with hedge: 0 = the eta tuned on the training mix (eval.eta_grid)
    c.paradigm.pg_return = "reward"  # policy_gradient: reward | regret (return = minus regret)
    c.paradigm.clip = 0.2  # policy_gradient: PPO ratio clip (the first of the sft.num_steps steps is REINFORCE)
    c.paradigm.rows = "all"  # distill / policy_gradient: every one of the L rollouts, or k random ("k")

    c.sft = ml_collections.ConfigDict()
    c.sft.num_steps = 50
    c.sft.learning_rate = 3e-3
    c.sft.optimizer = "adam"
    c.sft.grad_clip = 0.0  # global-norm clip; 0 = off
    # Stop as diverged when an iteration's loss grows this many times its first step (signed losses: |loss| vs the
    # run's first step; rmft_jax/training/train_loop.loss_out_of_bounds); 0 = off. May change on resume.
    c.sft.divergence_factor = 1e3
    c.sft.target = "actions"  # actions (sampled; realized regret) | policy (expected regret; needs logit_noise)
    # forward (the model's forward pass every step; every quoted number) | moments (linear attention only: its
    # prefix second moments once per update, then one small product per step; other float rounding; faster:
    # docs/performance.md "SFT on a sufficient statistic").
    c.sft.form = "forward"

    c.eval = ml_collections.ConfigDict()
    c.eval.num_scenarios = 1024
    c.eval.every = 1
    # Hedge's eta is tuned on this grid over the held-out set (geometric, 0.05 to 50).
    c.eval.eta_grid = tuple(round(0.05 * 1000 ** (i / 39), 4) for i in range(40))

    # The worst-case check at the end of a run (model and tuned Hedge at the training horizon); the
    # full study across horizons is `python -m experiments.attack --workdir=DIR`.
    c.attack = ml_collections.ConfigDict()
    c.attack.at_end = True
    c.attack.restarts = 32  # gradient-search restarts (run in parallel)
    c.attack.steps = 200  # Adam steps per restart
    c.attack.learning_rate = 0.1
    c.attack.init_scale = 2.0
    c.attack.temperature = 0.05  # smoothed max of the comparator
    c.attack.samples = 128  # sampled paths per action-adaptive adversary
    c.attack.seed = 0

    c.checkpoint = ml_collections.ConfigDict()
    c.checkpoint.max_to_keep = 2
    c.checkpoint.every = 20  # save every N iterations and after the last (a resumed run redoes at most N - 1)

    # Data parallelism: split the M scenarios over this many devices (1 = one device, no mesh).
    c.parallel = ml_collections.ConfigDict()
    c.parallel.data_axis_size = 1
    return c


def apply_variant(c: ml_collections.ConfigDict, variant: str) -> ml_collections.ConfigDict:
    """'smoke': a tiny, fast run; 'adversarial': a third adaptive adversaries, a third attack-made tables;
    'adversarial_smoke': both; 'time': the time-aware model on the adversarial mix at T = 200;
    'distill_bayes': distillation of the Bayes policy of the training mix (an attempt to reach the limit)."""
    if variant == "distill_bayes":  # the teacher plays k rollouts per scenario; the model imitates its actions
        c.paradigm.name, c.paradigm.teacher, c.paradigm.rows = "distill", "bayes", "k"
        variant = ""
    if variant == "time":  # the time-aware model, adversarial mix, trained at T = 200 (no-regret across horizons)
        c.model.name = "time_linear_attention"
        c.env.horizon = 200
        c.rmft.num_iterations = 150
        variant = "adversarial"
    variant_adversarial = variant.startswith("adversarial")
    if variant_adversarial:
        c.adversary.adaptive_share = 1 / 3
        c.adversary.attack_share = 1 / 3
        variant = variant[len("adversarial") :].lstrip("_")
    if variant == "smoke":
        c.env.horizon = 12
        c.rmft.num_iterations = 3
        c.rmft.num_scenarios, c.rmft.num_rollouts = 16, 4
        c.sft.num_steps = 5
        c.eval.num_scenarios = 32
        c.eval.eta_grid = (0.5, 2.0)
        c.checkpoint.every = 1  # the driver tests stop and resume smoke runs at any iteration
        c.attack.restarts, c.attack.steps, c.attack.samples = 4, 10, 8
        c.attack.at_end = variant_adversarial  # keeps the plain smoke runs of the tests short
    elif variant:
        raise ValueError(
            f"unknown variant {variant!r}; choose '', 'smoke', 'adversarial', 'adversarial_smoke', 'time' "
            "or 'distill_bayes'."
        )
    return c


def get_config(variant: str = "") -> ml_collections.ConfigDict:
    """Default config; `--config=experiments/configs/fol_single_layer.py:smoke` for the smoke variant."""
    return apply_variant(base_config(), variant)
