"""Shared Monte Carlo engine: seeds, batching over seeds, sharding across devices, progress.

A simulator supplies a pure per-seed function ``one(key, *params) -> dict of scalars``.  This
module maps it over ``n_seeds`` keys, either with ``jax.vmap`` on one device, or with
``jax.shard_map`` over a 1-D mesh of ``devices`` (each device runs ``jax.lax.map`` over its
own seeds).  The per-device ``lax.map`` keeps LAPACK calls unbatched: batched solves sharded
over several CPU devices hang on jax 0.10.x (reproduced on 0.10.1 and 0.10.2, shape-dependent;
not on 0.9.2 or on one device; see ``docs/numerics.md``, "Simulations").

In a multi-process run (``jax.distributed``, :mod:`overparam_theory.distributed`) :func:`run_grid`
gives each process an equal contiguous share of the seeds (:func:`process_seeds`), maps it on
the process's own ``devices`` and gathers every seed to every process (:func:`gather_seeds`).
There every seed runs the unbatched per-seed program (:func:`seed_exact`), so that the numbers
are the same bits whatever the number of processes, one included (``docs/distributed.md``).
"""

from __future__ import annotations

import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec

from ._results import Estimate, estimate
from ._validation import positive_int


def make_key(seed):
    """A JAX PRNG key from an integer seed or an existing key."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer or a JAX key, got {seed}")
        return jax.random.key(int(seed))
    if isinstance(seed, jax.Array) and jnp.issubdtype(seed.dtype, jax.dtypes.prng_key):
        return seed
    if isinstance(seed, jax.Array) and seed.dtype == jnp.uint32 and seed.shape == (2,):
        return jax.random.wrap_key_data(seed)
    raise ValueError(f"seed must be a non-negative integer or a JAX key, got {seed!r}")


def resolve_devices(devices):
    """``None`` -> single device (plain vmap); ``"all"`` -> every local device; or a list.

    The devices are this process's own: in a multi-process run the seeds are split across the
    processes by :func:`run_grid`, and each process shards its share over its ``devices``.
    """
    if devices is None:
        return None
    if devices == "all":
        devices = jax.local_devices()
    devices = list(devices)
    if not devices:
        raise ValueError("devices must be None, 'all' or a non-empty list of JAX devices")
    remote = [d for d in devices if getattr(d, "process_index", 0) != jax.process_index()]
    if remote:
        raise ValueError(
            f"devices must be this process's own devices (jax.local_devices()), got {remote[0]} of process "
            f"{remote[0].process_index}: in a multi-process run every process simulates its share of the seeds "
            "on its own devices"
        )
    return devices if len(devices) > 1 else None


# Bytes that one vmapped evaluation of all seeds may hold at once.  Vmapping over seeds multiplies
# the memory by n_seeds for little gain once one seed's matrices fill the cores (8 GAMP seeds at
# n = 4000, d = 2000 held 1.45 GB in their test process; one at a time 0.85 GB, in the same time).
SEED_BATCH_BYTES = 256 * 2**20


def vmap_seeds(n_seeds: int, bytes_per_seed: int | None) -> bool:
    """Whether all seeds are vmapped at once (else they run one after another): unless
    ``bytes_per_seed`` (an estimate of one seed's largest arrays) times ``n_seeds`` exceeds
    :data:`SEED_BATCH_BYTES`.  There is no middle ground of vmapped batches inside a loop
    (``lax.map(batch_size=...)``): with batched linear solves it hung on jax 0.10.2 / CPU
    (random_features at d = 200), as the sharded batched solves do (module docstring)."""
    return not bytes_per_seed or n_seeds * int(bytes_per_seed) <= SEED_BATCH_BYTES


def seed_batched(one, keys, params, devices=None, *, bytes_per_seed=None):
    """Evaluate ``one(key, *params)`` for every key; returns a dict of ``(n_seeds,)`` arrays.

    ``params`` are broadcast to every seed.  With several ``devices`` the seed axis is
    sharded (``n_seeds`` must be a multiple of the device count).  On one device the seeds are
    vmapped, or run one after another when that would hold too much memory (:func:`vmap_seeds`;
    ``bytes_per_seed``: the simulator's estimate of one seed's working set), so that memory
    stays bounded at any ``n_seeds``, or in a multi-process run (:func:`seed_exact`).
    """
    if devices is None:
        if not seed_exact() and vmap_seeds(keys.shape[0], bytes_per_seed):
            return jax.vmap(one, in_axes=(0,) + (None,) * len(params))(keys, *params)
        return jax.lax.map(lambda k: one(k, *params), keys)
    n_dev = len(devices)
    if keys.shape[0] % n_dev:
        raise ValueError(f"n_seeds ({keys.shape[0]}) must be a multiple of the number of devices ({n_dev})")
    mesh = jax.sharding.Mesh(np.array(devices), ("seeds",), axis_types=(jax.sharding.AxisType.Auto,))

    def local(local_keys, *p):
        return jax.lax.map(lambda k: one(k, *p), local_keys)

    sharded = jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(PartitionSpec("seeds"),) + (PartitionSpec(),) * len(params),
        out_specs=PartitionSpec("seeds"),
        # Each device only runs its own seeds; solvers whose loop carries start from constants
        # (e.g. Newton from w = 0) would otherwise fail the varying-manual-axes type check.
        check_vma=False,
    )
    return sharded(keys, *params)


class Progress:
    """Progress bar with rate and ETA on stderr (``tqdm``; enabled by ``progress=True`` in the
    simulators, and then drawn only when stderr is a terminal, and by process 0 alone in a
    multi-process run)."""

    def __init__(self, total: int, label: str, enabled: bool):
        from tqdm.auto import tqdm

        enabled = enabled and jax.process_index() == 0

        self.bar = tqdm(total=total, desc=label, unit="group", file=sys.stderr, disable=None if enabled else True,
                        leave=True, dynamic_ncols=True)

    def step(self, info: str = ""):
        if info:
            self.bar.set_postfix_str(info, refresh=False)
        self.bar.update(1)

    def close(self):
        self.bar.close()


def seed_split() -> int:
    """Number of processes that share the seeds of a simulation (``jax.process_count()``)."""
    return jax.process_count()


def seed_exact() -> bool:
    """Whether every seed runs the unbatched per-seed program (``lax.map``) even where the seeds
    could be vmapped: in a multi-process run (``jax.distributed`` initialised, any number of
    processes).  A vmapped program's numbers depend in the last bits on the batch size (XLA
    vectorises a batch of row sums differently at 16 and 32 rows: ridge at d = 400), so the
    seeds of one process would not reproduce those of two; one seed at a time they do."""
    return jax.distributed.is_initialized()


def process_seeds(n_seeds: int) -> slice:
    """The seeds this process simulates: all of them in one process; with ``P`` processes
    (``jax.distributed``) process ``i`` takes ``[i k, (i + 1) k)``, ``k = n_seeds / P``."""
    count = seed_split()
    if count == 1:
        return slice(None)
    if n_seeds % count:
        raise ValueError(f"n_seeds ({n_seeds}) must be a multiple of the number of processes ({count})")
    share = n_seeds // count
    return slice(jax.process_index() * share, (jax.process_index() + 1) * share)


def gather_seeds(results: dict) -> dict:
    """``{field: (points, seeds, ...) NumPy array}`` from this process's share of the seeds:
    in a multi-process run every process's share, concatenated along the seed axis in process
    order (``multihost_utils.process_allgather``; every process must call it)."""
    if seed_split() == 1:
        return {k: np.asarray(v) for k, v in results.items()}
    from jax.experimental import multihost_utils

    with jax.enable_x64(True):  # the gather goes through device arrays: keep float64 as it is
        stacked = multihost_utils.process_allgather({k: np.asarray(v) for k, v in results.items()})
    return {k: np.concatenate(list(v), axis=1) for k, v in stacked.items()}  # (P, points, share, ...)


def seed_keys(seed, n_seeds):
    n_seeds = positive_int("n_seeds", n_seeds, minimum=2)
    return jax.random.split(make_key(seed), n_seeds)


def point_keys(keys, point_index):
    """Independent keys ``(len(point_index), n_seeds)``: the seed keys folded with each
    point's flat grid index, so that different grid points use independent randomness."""
    fold = jax.vmap(lambda i: jax.vmap(lambda k: jax.random.fold_in(k, i))(keys))
    return fold(jnp.asarray(point_index, jnp.uint32))


def run_grid(run_group, sizes, point_params, *, seed, n_seeds, label, progress, static=None):
    """Drive a simulator over a flattened parameter grid.

    Points are grouped by their (static) problem size ``sizes[i]`` (e.g. the number of
    samples), so that each group compiles once; ``run_group(keys, *params, size=...)`` maps one
    group and returns a dict of ``(points, n_seeds)`` arrays.  Each point gets independent
    seeds (:func:`point_keys`), so z-scores of different points are independent.  In a
    multi-process run each process maps its share of the seeds (:func:`process_seeds`) and
    every process returns all of them (:func:`gather_seeds`).

    Returns ``{field: (n_points, n_seeds, ...) NumPy array}`` (trailing axes: per-seed arrays).
    """
    keys = seed_keys(seed, n_seeds)[process_seeds(n_seeds)]  # this process's seeds
    sizes = np.asarray(sizes)
    # Every point's keys at once, as raw key data cut per group in NumPy: folding per group
    # compiled the fold once per distinct group length (~0.25 s each on 2 CPU cores).
    impl = jax.random.key_impl(keys)
    all_keys = np.asarray(jax.random.key_data(point_keys(keys, np.arange(sizes.size))))
    out = {}
    groups = np.unique(sizes)
    bar = Progress(len(groups), label, progress)
    try:
        for size in groups:
            idx = np.flatnonzero(sizes == size)
            group_keys = jax.random.wrap_key_data(all_keys[idx], impl=impl)
            res = run_group(group_keys, *(jnp.asarray(p[idx]) for p in point_params), size=int(size),
                            **(static or {}))
            for field, values in gather_seeds(res).items():  # (points, n_seeds) + per-seed shape
                out.setdefault(field, np.empty((sizes.size,) + values.shape[1:]))[idx] = values
            bar.step(f"size {size}")
    finally:
        bar.close()
    return out


def summarize_fits(raw: dict, observables, shape, *, what: str, alpha, ridge) -> tuple[dict, np.ndarray]:
    """Seed means of a per-seed ERM simulation whose fits can fail.

    ``raw`` maps each observable to a ``(points, seeds)`` array and ``"failed"`` to the per-seed
    failure flags (popped).  Failed fits are counted per point and reported in one
    ``RuntimeWarning`` naming the first bad point (``alpha``, ``ridge``: flat per-point values);
    their points are NaN through the observables.  Returns ``({name: Estimate shaped like
    shape}, failures per point shaped like shape)``.
    """
    failures = raw.pop("failed").sum(axis=1).astype(int)
    if np.any(failures):
        bad = np.flatnonzero(failures)
        warnings.warn(
            f"{what}: {int(failures.sum())} fit(s) at {bad.size} point(s) did not converge or were infeasible "
            f"(e.g. alpha={alpha[bad[0]]:.4g}, ridge={ridge[bad[0]]:.4g}); those points are NaN",
            RuntimeWarning,
            stacklevel=3,
        )
    est = {k: estimate(raw[k], axis=1) for k in observables}
    est = {k: Estimate(v.mean.reshape(shape), v.stderr.reshape(shape), v.n_seeds) for k, v in est.items()}
    return est, failures.reshape(shape)
