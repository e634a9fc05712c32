"""Flags shared by the entry points: the compilation cache, and joining a `jax.distributed` run."""

from absl import flags

from rmft_jax import parallel

_COMPILE_CACHE = flags.DEFINE_bool(
    "compile_cache",
    True,
    "Use JAX's persistent compilation cache ($RMFT_JAX_CACHE_DIR or ~/.cache/rmft_jax/jax), "
    "so a second run of a config skips compiling; --nocompile_cache turns it off.",
)
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() first (multi-host runs).")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "host:port of process 0; None: auto-detect.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes; None: auto-detect.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index; None: auto-detect.")


def maybe_initialize() -> None:
    """Turn on the compilation cache (unless --nocompile_cache); join the multi-host run when asked."""
    if _COMPILE_CACHE.value:
        from rmft_jax.training import compile_cache

        compile_cache.enable()
    if _DISTRIBUTED.value or _COORDINATOR.value:
        parallel.initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
