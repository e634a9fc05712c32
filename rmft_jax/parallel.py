"""Data parallelism over a one-axis `jax.sharding` mesh: scenarios split across devices, params replicated.

The FOL iteration is written for one device; given a mesh, `fol.make_iteration` constrains every
per-scenario array (rewards_MxTxA, logits, trajectories, SFT targets) to `P('data')` and keeps
params and optimizer state replicated. The SFT loss is a mean over scenarios, so jit's SPMD
partitioner turns the gradient into per-device partial sums plus one all-reduce: the same numbers
as one device up to float summation order. Multi-host runs call `jax.distributed.initialize()`
first; `jax.devices()` then lists every host's devices and the mesh spans them all.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from rmft_jax import _checks

DATA_AXIS = "data"


def data_axis_size(cfg: Any) -> int:
    """cfg.parallel.data_axis_size, or 1 for configs (and old workdirs) that predate the field."""
    parallel = cfg.get("parallel", None) if hasattr(cfg, "get") else None
    return int(parallel.get("data_axis_size", 1)) if parallel is not None else 1


def make_data_mesh(num_devices: int) -> Mesh | None:
    """A ('data',) mesh over the first `num_devices` devices; None (no sharding) for 1."""
    _checks.check_int("parallel.data_axis_size", num_devices, 1)
    available = jax.device_count()
    if num_devices > available:
        raise ValueError(
            f"parallel.data_axis_size = {num_devices} but only {available} device(s) are visible; on a "
            "CPU set XLA_FLAGS=--xla_force_host_platform_device_count=N before jax starts."
        )
    if num_devices == 1:
        return None
    return jax.make_mesh((int(num_devices),), (DATA_AXIS,), axis_types=(AxisType.Auto,))


def check_divides(mesh: Mesh | None, size: int, name: str) -> None:
    """Raise ValueError unless the data axis splits `size` (a batch of scenarios) evenly."""
    if mesh is not None and size % mesh.shape[DATA_AXIS]:
        raise ValueError(
            f"{name} = {size} must be divisible by parallel.data_axis_size = "
            f"{mesh.shape[DATA_AXIS]} (each device gets an equal share of the scenarios)."
        )


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Leading axis split over 'data', the rest whole on each device."""
    return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    """The same full copy on every device of the mesh."""
    return NamedSharding(mesh, PartitionSpec())


def shard_batch(mesh: Mesh | None, x: jax.Array) -> jax.Array:
    """Inside jit: constrain x's leading (scenario) axis to the data axis; a no-op without a mesh."""
    return x if mesh is None else jax.lax.with_sharding_constraint(x, batch_sharding(mesh))


def _put(x: Any, sharding: NamedSharding) -> jax.Array:
    """device_put that also builds global arrays over other hosts' devices (every process holds all of x)."""
    if sharding.is_fully_addressable:
        return jax.device_put(x, sharding)
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        return jax.random.wrap_key_data(_put(jax.random.key_data(x), sharding), impl=jax.random.key_impl(x))
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def replicate(mesh: Mesh | None, tree: Any) -> Any:
    """Outside jit: put every leaf of `tree` on all devices of the mesh; unchanged without a mesh."""
    return tree if mesh is None else jax.tree.map(lambda x: _put(x, replicated(mesh)), tree)


def put_batch(mesh: Mesh | None, x: Any) -> jax.Array:
    """Outside jit: split x's leading axis over the mesh (replicate it when it does not divide)."""
    if mesh is None:
        return x
    divides = x.shape[0] % mesh.shape[DATA_AXIS] == 0
    return _put(x, batch_sharding(mesh) if divides else replicated(mesh))


def to_host(x: jax.Array) -> jax.Array | np.ndarray:
    """All of x readable on this process: gathered from every host when it spans several, else x."""
    return x if x.is_fully_addressable else multihost_utils.process_allgather(x, tiled=True)


def initialize_distributed(
    coordinator_address: str | None = None, num_processes: int | None = None, process_id: int | None = None
) -> None:
    """Join a multi-host run (`jax.distributed.initialize`); None lets JAX detect SLURM, Open MPI, k8s."""
    jax.distributed.initialize(
        coordinator_address=coordinator_address, num_processes=num_processes, process_id=process_id
    )
