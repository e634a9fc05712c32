"""Settings once: the shared base, one validation skeleton, the integer check, added fields from one table."""

import dataclasses
import json

import numpy as np
import pytest

from experiments.configs import fol_single_layer, mab
from rmft_jax import _checks
from rmft_jax.core import loop
from rmft_jax.tasks import settings
from rmft_jax.tasks.bandit import task as bandit
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import runner


@pytest.mark.parametrize("value", [True, 2.0, float("inf"), float("nan"), "3", None, -1])
def test_check_int_refuses_what_is_not_an_integer_at_least_low(value):
    with pytest.raises(ValueError, match="x must be an integer >= 0, got"):
        _checks.check_int("x", value, 0)


def test_check_int_accepts_python_and_numpy_integers_and_adds_the_hint():
    _checks.check_int("x", 3, 3)
    _checks.check_int("x", np.int64(5), 1)
    with pytest.raises(ValueError, match=r"x must be an integer >= 2, got 1; two runs\.$"):
        _checks.check_int("x", 1, 2, "two runs")


@pytest.mark.parametrize("cls, config", [(fol.FOLSettings, fol_single_layer), (bandit.BanditSettings, mab)])
def test_task_settings_contain_the_loop_settings_and_add_only_their_own(cls, config):
    cfg = config.get_config("smoke")
    s = cls.from_config(cfg)
    assert issubclass(cls, settings.TaskSettings)
    assert s.loop == loop.LoopSettings(
        cfg.rmft.selection, cfg.rmft.num_selected, cfg.sft.num_steps, float(cfg.rmft.temperature)
    )
    assert (s.selection, s.num_selected, s.sft_steps) == (cfg.rmft.selection, cfg.rmft.num_selected, cfg.sft.num_steps)
    own = {f.name for f in dataclasses.fields(cls)} - {f.name for f in dataclasses.fields(settings.TaskSettings)}
    assert not own & set(loop.LoopSettings.__dataclass_fields__), "a loop field restated in a task's settings"
    assert (s.horizon, s.num_actions, s.num_rollouts) == (cfg.env.horizon, cfg.env.num_actions, cfg.rmft.num_rollouts)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("rmft.num_scenarios", 0, "rmft.num_scenarios must be an integer >= 1"),
        ("rmft.num_selected", 99, r"rmft.num_selected \(k = 99\) cannot exceed rmft.num_rollouts"),
        ("sft.num_steps", 0, "sft.num_steps must be an integer >= 1"),
        ("sft.learning_rate", float("inf"), "sft.learning_rate must be finite"),
        ("rmft.selection", "best", "unknown rmft.selection 'best'"),
        ("sft.optimizer", "lion", "unknown sft.optimizer 'lion'"),
    ],
)
def test_fol_and_bandit_configs_fail_the_shared_checks_with_one_message(field, value, message):
    for validate, config in ((fol.validate_config, fol_single_layer), (bandit.validate_config, mab)):
        cfg = config.get_config("smoke")
        section, leaf = field.split(".")
        with cfg.unlocked():
            cfg[section][leaf] = value
        with pytest.raises(ValueError, match=message):
            validate(cfg)


def test_fill_added_sets_only_missing_fields_and_makes_missing_sections():
    cfg = fol_single_layer.get_config("smoke")
    with cfg.unlocked():
        del cfg.rmft["sampler"]
        del cfg["paradigm"]
    filled = settings.fill_added(cfg, fol.ADDED_FIELD_DEFAULTS)
    assert filled.rmft.sampler == "gumbel" and filled.paradigm.name == "rmft"
    assert filled.model.prefix_sum == cfg.model.prefix_sum  # present: kept, not overwritten
    assert "sampler" not in cfg.rmft  # the input is not changed


def test_a_saved_config_without_a_later_field_loads_with_the_value_it_trained_with(tmp_path):
    cfg = json.loads(fol_single_layer.get_config("smoke").to_json())
    del cfg["rmft"]["sampler"], cfg["task"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    loaded = runner.load_config(str(tmp_path))
    assert loaded.rmft.sampler == "gumbel" and runner.task_of(loaded) == "fol"
    fol.validate_config(loaded)
    assert fol.FOLSettings.from_config(loaded).sampler == "gumbel"
