"""Multi-host flags shared by the FOL entry points: join a `jax.distributed` run before training."""
from absl import flags

from rmft_jax import parallel

_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() first (multi-host runs).")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "host:port of process 0; None: auto-detect.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes; None: auto-detect.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index; None: auto-detect.")


def maybe_initialize() -> None:
    """Join the multi-host run when --distributed or --coordinator_address is given."""
    if _DISTRIBUTED.value or _COORDINATOR.value:
        parallel.initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
