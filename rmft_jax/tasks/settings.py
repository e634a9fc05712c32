"""What every task's settings and config checks share, written once: sizes, the loop's settings, the paradigm.

A task's settings dataclass subclasses `TaskSettings` and adds only its own fields; its `validate_config` calls
`validate_shared` (sizes, counts, k <= L, the selection rule, the optimizer) and checks only its own sections.
Defaults live in the config files; a field added after runs were made gets its old value from the task's
ADDED_FIELD_DEFAULTS table (`fill_added`), never from a default restated in code.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import ml_collections

from rmft_jax import _checks, models
from rmft_jax.core import loop, paradigms, policy_gradient, selection


@dataclasses.dataclass(frozen=True)
class TaskSettings:
    """Static settings every task has (plain Python values, safe to close over in jit); tasks add their own."""

    horizon: int
    num_actions: int
    num_scenarios: int
    num_rollouts: int
    loop: loop.LoopSettings  # the selection rule, k, the SFT steps and temperature
    paradigm: paradigms.ParadigmSettings  # what an iteration imitates or optimizes
    sft_form: str  # "forward": the model's forward pass every SFT step | "moments": a statistic of the inputs once

    # The loop's fields, read through (they belong to `loop`, not restated here).
    @property
    def selection(self) -> str:
        return self.loop.selection

    @property
    def num_selected(self) -> int:
        return self.loop.num_selected

    @property
    def sft_steps(self) -> int:
        return self.loop.sft_steps

    @property
    def temperature(self) -> float:
        return self.loop.temperature


# How SFT evaluates the model on its fixed inputs (sft.form): the forward pass each step, or, for the single
# linear-attention layer, a statistic of the inputs that determines its prefix second moments, computed once per
# update (each task's `sft_features`). Equal up to float rounding; another rounding, so old runs keep "forward".
SFT_FORMS = ("forward", "moments")


def loop_settings(cfg: Any) -> loop.LoopSettings:
    """The loop's settings from a config's rmft and sft sections."""
    r = cfg.rmft
    return loop.LoopSettings(r.selection, r.num_selected, cfg.sft.num_steps, float(r.temperature))


def shared_fields(cfg: Any, paradigm: paradigms.ParadigmSettings) -> dict[str, Any]:
    """The `TaskSettings` fields of a config, as keyword arguments for a task's settings class."""
    r = cfg.rmft
    return {
        "horizon": cfg.env.horizon,
        "num_actions": cfg.env.num_actions,
        "num_scenarios": r.num_scenarios,
        "num_rollouts": r.num_rollouts,
        "loop": loop_settings(cfg),
        "paradigm": paradigm,
        "sft_form": cfg.sft.form,
    }


def validate_shared(cfg: Any, integers: tuple[tuple[str, Any, int], ...] = ()) -> None:
    """The checks every task's config needs; `integers` adds the task's own (name, value, lowest allowed)."""
    e, r, s = cfg.env, cfg.rmft, cfg.sft
    _checks.check_horizon(e.horizon, "env.horizon")
    _checks.check_int("env.num_actions", e.num_actions, 2)
    _checks.check_choice("model.name", cfg.model.name, models.MODELS)
    for name, value, low in (
        ("rmft.num_iterations", r.num_iterations, 0),
        ("rmft.num_scenarios", r.num_scenarios, 1),
        ("rmft.num_rollouts", r.num_rollouts, 1),
        ("rmft.num_selected (k)", r.num_selected, 1),
        ("sft.num_steps", s.num_steps, 1),
        ("eval.num_scenarios", cfg.eval.num_scenarios, 2),
        ("eval.every", cfg.eval.every, 1),
        *integers,
    ):
        _checks.check_int(name, value, low)
    if r.num_selected > r.num_rollouts:
        raise ValueError(
            f"rmft.num_selected (k = {r.num_selected}) cannot exceed rmft.num_rollouts "
            f"(L = {r.num_rollouts}): keep at most the L trajectories each scenario has."
        )
    _checks.check_choice("rmft.selection", r.selection, selection.SELECTIONS)
    _checks.check_positive("rmft.temperature", r.temperature)
    _checks.check_positive("sft.learning_rate", s.learning_rate)
    _checks.check_finite("sft.learning_rate", s.learning_rate)
    _checks.check_finite("rmft.temperature", r.temperature)
    _checks.check_positive("sft.grad_clip", s.grad_clip, allow_zero=True)
    _checks.check_choice("sft.optimizer", s.optimizer, ("adam", "sgd"))
    _checks.check_choice("sft.form", s.form, SFT_FORMS)
    if s.form == "moments" and cfg.model.name != "linear_attention":
        raise ValueError(
            f"sft.form='moments' needs model.name='linear_attention' (its logits are b + V S_t K^T Q c in the prefix "
            f"second moments S_t); {cfg.model.name!r} trains with sft.form='forward'."
        )
    check_memory(cfg)


def array_bytes_lower_bound(cfg: Any) -> int:
    """At least this many bytes hold an iteration's largest arrays: 4-byte entries of the M reward tables (M T A),
    the L rollouts' actions (M L T), the held-out tables (E T A) and, for the transformer, attention (M T T)."""
    m, el, t, a = (
        int(x) for x in (cfg.rmft.num_scenarios, cfg.rmft.num_rollouts, cfg.env.horizon, cfg.env.num_actions)
    )
    entries = m * t * a + m * el * t + int(cfg.eval.num_scenarios) * t * a
    if cfg.model.name == "transformer":
        entries += m * t * t
    return 4 * entries


def available_memory_bytes() -> int | None:
    """What the default device can hold: an accelerator's memory limit, else this machine's available RAM."""
    device = jax.devices()[0]
    if device.platform != "cpu":
        limit = (device.memory_stats() or {}).get("bytes_limit")
        if limit:
            return int(limit)
    try:
        with open("/proc/meminfo") as fh:
            fields = dict(line.split(":", 1) for line in fh if ":" in line)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None  # no way to tell here: no refusal


def check_memory(cfg: Any) -> None:
    """Refuse, before anything compiles, sizes whose arrays cannot fit (`array_bytes_lower_bound`).

    The field `memory_limit_gb` overrides what the machine reports: 0 means the available memory, a positive value
    is the memory this run may use (a machine with swap, or a share of a shared one).
    """
    _checks.check_finite("memory_limit_gb", cfg.memory_limit_gb)
    _checks.check_positive("memory_limit_gb", cfg.memory_limit_gb, allow_zero=True)
    need = array_bytes_lower_bound(cfg)
    have = float(cfg.memory_limit_gb) * 2**30 if cfg.memory_limit_gb > 0 else available_memory_bytes()
    if have is not None and need > have:
        r = cfg.rmft
        raise ValueError(
            f"this config cannot fit in memory: its largest arrays need at least {need / 2**30:.3g} GiB (M = "
            f"{r.num_scenarios}, L = {r.num_rollouts}, T = {cfg.env.horizon}, A = {cfg.env.num_actions}, E = "
            f"{cfg.eval.num_scenarios}) and {have / 2**30:.3g} GiB is available. Lower the sizes, or set "
            "--config.memory_limit_gb to the memory this run may use."
        )


def paradigm_section(cfg: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    """The config's `paradigm` section over the task's defaults (configs made before it: Iterative RMFT)."""
    return {**defaults, **cfg.get("paradigm", {})}


def validate_paradigm(p: dict[str, Any], teachers: tuple[str, ...]) -> None:
    """The checks of a `paradigm` section every task shares; `teachers` are the task's distillation teachers."""
    _checks.check_choice("paradigm.name", p["name"], paradigms.PARADIGMS)
    _checks.check_choice("paradigm.teacher", p["teacher"], teachers)
    _checks.check_choice("paradigm.pg_return", p["pg_return"], policy_gradient.RETURNS)
    _checks.check_positive("paradigm.clip", p["clip"])
    _checks.check_choice("paradigm.rows", p["rows"], paradigms.ROWS)


def fill_added(cfg: ml_collections.ConfigDict, added: dict[str, Any]) -> ml_collections.ConfigDict:
    """A copy of a saved config with each field it lacks set to the value it was trained with (`added`)."""
    out = ml_collections.ConfigDict(cfg.to_dict())
    for dotted, value in added.items():
        *path, leaf = dotted.split(".")
        node = out
        for part in path:
            if part not in node:
                node[part] = ml_collections.ConfigDict()
            node = node[part]
        if leaf not in node:
            node[leaf] = value
    return out
