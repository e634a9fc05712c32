"""Train on FOL, play on MAB (the paper's ablation): FOL-trained models play bandits with importance weights.

Each FOL workdir's model plays Bernoulli bandit instances through `fol_on_bandit.importance_weighted_rollout`
(EXP3's estimates as its input), optionally again after some iterations of RMFT on MAB that keep its
input format (`tasks.bandit.fol_on_bandit_rmft`); EXP3, UCB1 and Thompson sampling play the same reward draws
(common random numbers). Scored by `bandit_eval.method_stats` (pseudo-regret, growth, exploration diagnostics).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import jax
import ml_collections

from rmft_jax import _checks, envs, regret
from rmft_jax.core import loop, sft
from rmft_jax.core.run import Run
from rmft_jax.envs import bandit as bandit_envs
from rmft_jax.tasks.bandit import evaluation as bandit_eval
from rmft_jax.tasks.bandit import fol_on_bandit, fol_on_bandit_rmft
from rmft_jax.training import checkpoint, driver, policy, runner, workdir_files

# instance -> (description, its GapMAB fields): K = 5 so that a model trained at A = 5 can play it.
INSTANCES = {
    "hard": ("Krishnamurthy et al.'s hard instance: K = 5, gap 0.2", {"gap": 0.2}),
    "easy5": ("an easy instance at K = 5, gap 0.5 (their easy one has K = 4)", {"gap": 0.5}),
}


# The fine-tuning's keys: fold_in(key(seed), FINETUNE_STREAM + i) for the i-th fine-tuned model (the instances
# use 0, 1).
FINETUNE_STREAM = 100


@dataclasses.dataclass(frozen=True)
class Finetune:
    """RMFT on MAB for an FOL model: the bandit default loop (training instances gap ~ U[0.1, 0.5], K = 5)."""

    iterations: int = 30
    num_scenarios: int = 256  # M
    num_rollouts: int = 16  # L
    num_selected: int = 4  # k
    sft_steps: int = 50
    learning_rate: float = 3e-3
    gamma: float = 0.0  # uniform exploration mixed into the training rollouts


def load_players(workdirs: dict[str, str]) -> dict[str, tuple]:
    """{name: (graphdef, params, temperature)} of each FOL workdir's final model."""
    players = {}
    for name, workdir in workdirs.items():
        if not os.path.exists(os.path.join(workdir, "config.json")):
            raise ValueError(f"FOL workdir {workdir!r} ({name}) has no config.json: train it first.")
        cfg = runner.load_config(workdir)
        if int(cfg.env.num_actions) != 5:
            raise ValueError(
                f"FOL workdir {workdir!r} ({name}) was trained at A = {cfg.env.num_actions}; the "
                "instances have K = 5 arms."
            )
        graphdef, params, _ = policy.load_checkpoint_params(workdir, cfg)
        players[name] = (graphdef, params, float(cfg.rmft.temperature))
    return players


def play(player: tuple, means_NxTxA, rewards_NxTxA, key, gamma: float) -> dict:
    """One model's importance-weighted play on pre-drawn instances: `bandit_eval.method_stats`."""
    graphdef, params, temperature = player
    run = jax.jit(lambda r, k: fol_on_bandit.importance_weighted_rollout(graphdef, params, r, k, temperature, gamma))
    traj = run(rewards_NxTxA, key)
    curves = regret.pseudo_regret(means_NxTxA, traj.actions_BxT)
    return bandit_eval.method_stats(curves, traj.actions_BxT, traj.rewards_BxT, means_NxTxA, "mab")


def finetune_config(settings: Finetune, horizon: int, source: str, key: jax.Array) -> ml_collections.ConfigDict:
    """The fine-tuning's config for the driver: the settings, the horizon, the FOL workdir it starts from (with
    its config, so a retrained source is not resumed from) and its key."""
    c = ml_collections.ConfigDict(dataclasses.asdict(settings))
    c.horizon, c.source = horizon, os.path.abspath(source)
    c.source_config = runner.load_config(source).to_json(sort_keys=True)
    c.key = [int(x) for x in jax.random.key_data(key).tolist()]
    c.rmft = ml_collections.ConfigDict({"num_iterations": settings.iterations})
    c.eval = ml_collections.ConfigDict({"every": 10})  # the progress line's cadence (nothing is held out)
    c.checkpoint = ml_collections.ConfigDict({"every": 10, "max_to_keep": 2})
    return c


class FinetuneExperiment:
    """RMFT on MAB from an FOL model (`tasks.bandit.fol_on_bandit_rmft`) for `driver.run`: resumable like any run."""

    def __init__(self, player: tuple, key: jax.Array):
        self.player, self.key = player, key

    def validate(self, cfg: Any) -> None:
        """Positive sizes, k <= L and an exploration share in [0, 1)."""
        for name in ("num_scenarios", "num_rollouts", "num_selected", "sft_steps"):
            _checks.check_int(f"finetune {name}", cfg[name], 1)
        _checks.check_int("finetune iterations", cfg.iterations, 0)
        if cfg.num_selected > cfg.num_rollouts:
            raise ValueError(f"finetune num_selected {cfg.num_selected} exceeds num_rollouts {cfg.num_rollouts}.")
        _checks.check_in_range("finetune gamma", cfg.gamma, 0.0, 0.999999)
        _checks.check_positive("finetune learning_rate", cfg.learning_rate)

    def build(self, cfg: Any) -> Run:
        """The loop's iteration on the FOL-on-bandit task, from the FOL model's parameters."""
        graphdef, params, temperature = self.player
        env = bandit_envs.GapMAB(
            num_actions=5, horizon=cfg.horizon, gap_range=(0.1, 0.5), random_best_arm=True
        ).validate()
        task = fol_on_bandit_rmft.FOLOnBanditTask(
            env, graphdef, cfg.num_scenarios, cfg.num_rollouts, temperature, cfg.gamma
        )
        optimizer = sft.make_optimizer(cfg.learning_rate)
        settings = loop.LoopSettings("regret", cfg.num_selected, cfg.sft_steps, temperature)
        update = sft.make_update(task.apply, optimizer, cfg.sft_steps, temperature)
        iteration = jax.jit(loop.make_iteration(task, update, settings))

        def report(init_params, final_params, history):
            keys = ("iteration", "rollout_regret", "selected_regret", "sft_loss")
            return {"history": [{k: r[k] for k in keys} for r in history]}, None

        return Run(iteration, params, optimizer.init(params), self.key, lambda p: {}, report)


def finetune(
    player: tuple,
    horizon: int,
    settings: Finetune,
    key: jax.Array,
    workdir: str,
    source: str,
    log: Callable[[str], None] = print,
) -> tuple[tuple, dict]:
    """Iterative RMFT on MAB from an FOL model, trained by the driver in `workdir` (locked, checkpointed,
    resumable) -> (the fine-tuned player, {history, seconds, settings})."""
    start = time.perf_counter()
    graphdef, params, temperature = player
    experiment = FinetuneExperiment(player, key)
    cfg = finetune_config(settings, horizon, source, key)
    results = driver.run(cfg, workdir, experiment, log)
    if settings.iterations:  # the fine-tuned model: the driver's final checkpoint
        ckpt = checkpoint.Checkpointer(driver.checkpoint_dir(workdir, ""))
        try:
            like = (params, sft.make_optimizer(settings.learning_rate).init(params))
            (params, _), _ = ckpt.restore(settings.iterations, like)
        finally:
            ckpt.close()
    return (graphdef, params, temperature), {
        "history": results["history"],
        "seconds": time.perf_counter() - start,
        "settings": dataclasses.asdict(settings),
    }


def run(
    workdirs: dict[str, str],
    horizon: int,
    num_runs: int,
    gammas: tuple,
    baselines: tuple,
    seed: int,
    log: Callable[[str], None] = print,
    finetune_names: tuple = (),
    settings: Finetune = Finetune(),
    finetune_dir: str | None = None,
) -> dict:
    """{"results": {instance: {method: stats}}, "finetune": {name: history}} for every FOL workdir (x gamma),
    the ones in `finetune_names` again after RMFT on MAB ("NAME + RMFT on MAB"), and each baseline."""
    players = load_players(workdirs)
    unknown = sorted(set(finetune_names) - set(players))
    if unknown:
        raise ValueError(f"--finetune names {unknown} are not among the workdirs {sorted(players)}.")
    tuned = {}
    for i, name in enumerate(finetune_names):
        log(f"{name}: RMFT on MAB for {settings.iterations} iterations")
        key = jax.random.fold_in(jax.random.key(seed), FINETUNE_STREAM + i)
        with contextlib.ExitStack() as stack:  # without a directory the fine-tuning's workdir is temporary
            where = finetune_dir or stack.enter_context(tempfile.TemporaryDirectory())
            player, tuned[name] = finetune(
                players[name], horizon, settings, key, os.path.join(where, name), workdirs[name], log
            )
        players[f"{name} + RMFT on MAB"] = player
    out = {}
    for index, (instance, (description, fields)) in enumerate(INSTANCES.items()):
        env = bandit_envs.GapMAB(num_actions=5, horizon=horizon, random_best_arm=True, **fields).validate()
        key_env, key_play, key_base = jax.random.split(jax.random.fold_in(jax.random.key(seed), index), 3)
        scen = envs.sample_batch(env, key_env, num_runs)
        means_NxTxA, rewards_NxTxA = scen.means_TxA, scen.rewards_TxA
        out[instance] = {"description": description}
        for name, player in players.items():
            for gamma in gammas:
                label = f"{name} (gamma {gamma:g})"
                out[instance][label] = play(player, means_NxTxA, rewards_NxTxA, key_play, float(gamma))
                log(f"{instance}: {label}: regret {out[instance][label]['regret']:.2f}")
        for name, (actions, observed, curves) in bandit_eval.run_baselines(
            baselines, key_base, means_NxTxA, rewards_NxTxA
        ).items():
            out[instance][name] = bandit_eval.method_stats(curves, actions, observed, means_NxTxA, "mab")
            log(f"{instance}: {name}: regret {out[instance][name]['regret']:.2f}")
    return {"results": out, "finetune": tuned}


def run_command(
    out_dir: str,
    workdirs: list[str],
    horizon: int,
    num_runs: int,
    gammas: list[str],
    seed: int,
    finetune: list[str],
    finetune_iterations: int,
    finetune_gamma: float,
    log: Callable[[str], None] = print,
) -> dict:
    """`python -m experiments.fol_on_mab`: check the flags' values, play (and fine-tune), write fol_on_mab.json."""
    named = dict(item.split("=", 1) for item in workdirs)
    if finetune_iterations < 0:
        raise ValueError(f"--finetune_iterations must be >= 0, got {finetune_iterations}.")
    if not 0.0 <= finetune_gamma < 1.0:
        raise ValueError(f"--finetune_gamma must be in [0, 1), got {finetune_gamma}.")
    out = run(
        named,
        horizon,
        num_runs,
        tuple(float(g) for g in gammas),
        ("exp3", "ucb1", "thompson"),
        seed,
        finetune_names=tuple(finetune) if finetune_iterations else (),
        settings=Finetune(iterations=finetune_iterations, gamma=finetune_gamma),
        finetune_dir=os.path.join(out_dir, "finetune"),
    )
    os.makedirs(out_dir, exist_ok=True)
    workdir_files.write_json_atomic(
        os.path.join(out_dir, "fol_on_mab.json"), {"workdirs": named, "horizon": horizon, "num_runs": num_runs, **out}
    )
    log(f"wrote {out_dir}/fol_on_mab.json")
    return out
