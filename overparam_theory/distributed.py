"""Simulations on several processes or hosts, through JAX's multi-controller runtime.

Every process runs the same script; :func:`initialize` connects them (``jax.distributed``).
From then on every ``simulate`` (and :func:`~overparam_theory.compare`) splits its seeds into
equal contiguous shares, one per process (``n_seeds`` a multiple of the number of processes),
runs its share on the process's own devices (``devices=None``: its default device; ``"all"``:
its local devices), one seed at a time, and gathers all seeds to every process.  Every process
then returns the same result, bit for bit that of any other number of processes with the same
``seed``, one included (``initialize(address, 1, 0)``): the seed keys do not depend on the
number of processes, and each seed's numbers come from the same compiled per-seed program.  On
CPUs give each process the same number of cores as the reference run (XLA's thread pool splits
products and sums by thread).  A plain run (no ``initialize``) vmaps the seeds and agrees to the
last bits.  See ``docs/distributed.md``.

Every process must make the same calls in the same order (the gather is a collective); a
process that skips one leaves the others waiting.  Progress bars are drawn by process 0 only.
"""

from __future__ import annotations

import operator

__all__ = ["initialize", "shutdown", "process_index", "process_count", "is_initialized"]


def _index(name, value, minimum=0):
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, *, local_device_ids=None, cpu_collectives: str = "gloo", **kwargs):
    """Join this process to a multi-process JAX run (call it first, before any JAX computation).

    A thin wrapper of ``jax.distributed.initialize`` (same arguments; any other keyword, e.g.
    ``initialization_timeout``, is passed on).  On a cluster whose scheduler JAX recognises
    (SLURM, Open MPI, Kubernetes with the JAX launcher) all three may be left out.

    Args:
        coordinator_address: ``"host:port"`` of process 0, reachable from every process.
        num_processes: total number of processes (``>= 1``).
        process_id: this process's index, ``0 <= process_id < num_processes``.
        local_device_ids: the local devices (e.g. GPU indices) this process uses.
        cpu_collectives: cross-process collectives between CPU devices (``"gloo"``, the
            default of jax 0.10; ``"mpi"``; ``None``: leave JAX's setting).  The seeds are
            gathered through them when the processes compute on CPUs; GPUs use their own.
    """
    if num_processes is not None:
        num_processes = _index("num_processes", num_processes, 1)
    if process_id is not None:
        process_id = _index("process_id", process_id)
        if num_processes is not None and process_id >= num_processes:
            raise ValueError(f"process_id must be < num_processes ({num_processes}), got {process_id}")
    if coordinator_address is not None and (not isinstance(coordinator_address, str) or ":" not in coordinator_address):
        raise ValueError(f"coordinator_address must be a 'host:port' string, got {coordinator_address!r}")
    import jax

    if cpu_collectives is not None:
        if cpu_collectives not in ("gloo", "mpi"):
            raise ValueError(f"cpu_collectives must be 'gloo', 'mpi' or None, got {cpu_collectives!r}")
        jax.config.update("jax_cpu_collectives_implementation", cpu_collectives)
    jax.distributed.initialize(coordinator_address, num_processes, process_id, local_device_ids=local_device_ids,
                               **kwargs)


def shutdown():
    """Leave the multi-process run (``jax.distributed.shutdown``); a no-op when not initialised."""
    import jax

    jax.distributed.shutdown()


def is_initialized() -> bool:
    """Whether :func:`initialize` (or ``jax.distributed.initialize``) has run in this process."""
    import jax

    return jax.distributed.is_initialized()


def process_index() -> int:
    """This process's index (0 in a single-process run)."""
    import jax

    return jax.process_index()


def process_count() -> int:
    """Number of processes sharing the seeds of every simulation (1 unless initialised)."""
    import jax

    return jax.process_count()
