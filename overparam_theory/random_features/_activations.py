"""Activation functions and their Hermite coefficients ``mu0, mu1, mu_star``.

For ``G ~ N(0, 1)`` (Mei & Montanari 2022, Assumption / Definition 1):

    mu0 = E sigma(G),   mu1 = E[G sigma(G)],   mu_star^2 = E sigma(G)^2 - mu0^2 - mu1^2,

``mu_star^2`` being the variance of the *nonlinear* part of ``sigma`` (not ``E sigma^2 - mu0^2``;
``docs/theory/random_features.md``, section 3).  Built-in activations use closed forms where they exist
(relu, erf, quadratic, linear) and Gauss-Hermite quadrature otherwise (tanh, sigmoid; smooth
and entire-like, so 128 nodes give ~1e-15).  A user callable is integrated with the kink-split
rule of :func:`~overparam_theory.numerics.gaussian.expect_normal_split` when ``kink`` is given,
plain Gauss-Hermite otherwise.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._precision import precision
from ..numerics.gaussian import expect_normal, expect_normal_split
from ._params import ACTIVATION_NAMES, check_activation


def relu(x):
    return jnp.maximum(x, 0.0)


def quadratic(x):
    return x * x


def linear(x):
    return x


def erf(x):
    return jax.scipy.special.erf(x)


# name -> (function, kink for quadrature or None, closed-form (mu0, mu1, E sigma^2) or None)
BUILTINS: dict[str, tuple[Callable, float | None, tuple | None]] = {
    "relu": (relu, 0.0, (1.0 / math.sqrt(2.0 * math.pi), 0.5, 0.5)),
    "tanh": (jnp.tanh, None, None),
    "erf": (erf, None, (0.0, 2.0 / math.sqrt(3.0 * math.pi), (2.0 / math.pi) * math.asin(2.0 / 3.0))),
    "sigmoid": (jax.nn.sigmoid, None, None),
    "quadratic": (quadratic, None, (1.0, 0.0, 3.0)),
    "linear": (linear, None, (0.0, 1.0, 1.0)),
}
assert tuple(BUILTINS) == ACTIVATION_NAMES, "the declaration (_params) lists the built-in activations"


class Activation(NamedTuple):
    """A resolved activation: its name, the function and its coefficients.

    Attributes:
        name: built-in name or the callable's ``__name__``.
        fn: the JAX-traceable function ``sigma``.
        mu0, mu1, mu_star: Hermite coefficients (``mu_star >= 0``).
    """

    name: str
    fn: Callable
    mu0: float
    mu1: float
    mu_star: float

    @property
    def zeta(self) -> float:
        """``zeta = mu1 / mu_star`` (``inf`` for a linear activation)."""
        return self.mu1 / self.mu_star if self.mu_star > 0 else math.inf


def coefficients_by_quadrature(fn, *, kink=None, n_nodes: int = 128):
    """``(mu0, mu1, E sigma(G)^2)`` of ``fn`` by Gauss-Hermite (split at ``kink`` if given)."""
    with precision("float64"):
        expect = (lambda f: expect_normal_split(f, kink=kink, n_nodes=n_nodes)) if kink is not None else (
            lambda f: expect_normal(f, n_nodes=n_nodes)
        )
        m0 = expect(lambda z: fn(z))
        m1 = expect(lambda z: z * fn(z))
        m2 = expect(lambda z: fn(z) ** 2)
        return float(m0), float(m1), float(m2)


def resolve_activation(activation, *, kink=None, n_nodes: int = 128) -> Activation:
    """A built-in name (``relu``, ``tanh``, ``erf``, ``sigmoid``, ``quadratic``, ``linear``) or a
    JAX-traceable callable ``sigma: array -> array`` (elementwise) -> :class:`Activation`.

    Raises ``ValueError`` for unknown names, non-callables, callables that JAX cannot trace or
    that are not elementwise, and activations whose coefficients are not finite.
    """
    check_activation("activation", activation)
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        fn, builtin_kink, closed = BUILTINS[activation]
        moments = closed if closed is not None else coefficients_by_quadrature(fn, kink=builtin_kink, n_nodes=n_nodes)
        name = activation
    else:  # a callable (check_activation refused anything else)
        fn = activation
        name = getattr(activation, "__name__", type(activation).__name__)
        try:
            with precision("float64"):
                out = jax.eval_shape(fn, jax.ShapeDtypeStruct((3, 5), jnp.float64))
        except Exception as exc:  # any tracing failure: report it as bad input
            raise ValueError(
                f"activation {name!r} must be a JAX-traceable elementwise function (jnp operations, no Python "
                f"control flow on values); tracing failed with {type(exc).__name__}: {exc}"
            ) from exc
        if getattr(out, "shape", None) != (3, 5):
            raise ValueError(f"activation {name!r} must be elementwise (shape in = shape out); got {out}")
        moments = coefficients_by_quadrature(fn, kink=kink, n_nodes=n_nodes)
    mu0, mu1, second = moments
    if not all(np.isfinite([mu0, mu1, second])):
        raise ValueError(f"activation {name!r}: E sigma(G), E G sigma(G) or E sigma(G)^2 is not finite")
    mu_star_sq = second - mu0**2 - mu1**2
    # Rounding can leave a tiny negative remainder for (almost) linear activations.
    if mu_star_sq < -1e-10 * max(second, 1.0):
        raise ValueError(f"activation {name!r}: E sigma^2 - mu0^2 - mu1^2 = {mu_star_sq} < 0 (quadrature failed?)")
    mu_star = math.sqrt(max(mu_star_sq, 0.0)) if mu_star_sq > 1e-14 * max(second, 1.0) else 0.0
    return Activation(name, fn, float(mu0), float(mu1), mu_star)
