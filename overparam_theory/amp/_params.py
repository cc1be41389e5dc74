"""The Bayes-optimal GLM (amp) model's declared parameters and fields (the contract of
:mod:`overparam_theory._spec`).

Conventions (Barbier, Krzakala, Macris, Miolane & Zdeborova, PNAS 116 (2019) 5451;
``docs/theory/amp.md``): teacher ``w*_i ~ (1 - sparsity) delta_0 + sparsity N(0,
nonzero_variance)``, inputs ``x ~ N(0, I_d)``, ``n = alpha d`` labels from the channel
``P_out(y | x . w*/sqrt(d))``; overlaps per coordinate.
"""

from __future__ import annotations

from .. import _spec
from .._spec import REQUIRED, Boolean, Choice, Field, Integer, Interval, Param, simulate_options, theory_options

CHANNELS = ("linear", "sign", "relu", "abs")
"""The output channels P_out(y | z) (``_channels``)."""
CLASSIFICATION_CHANNELS = ("sign",)
CONTINUOUS_CHANNELS = ("linear", "relu", "abs")

ALPHA = _spec.ALPHA.replace(cli_default="0.2:4:12")
CHANNEL = Param(
    "channel", Choice(CHANNELS), "sign", symbol="P_out(y | z)",
    help="output channel: linear (y = z + noise), sign (perceptron, with flips), relu, abs (phase retrieval)",
)
SPARSITY = _spec.SPARSITY.replace(
    symbol="epsilon (rho = epsilon v)",
    help="fraction of non-zero teacher weights (Bernoulli-Gaussian prior; 1: Gaussian prior)",
)
NONZERO_VARIANCE = _spec.NONZERO_VARIANCE.replace(help="variance of the non-zero teacher weights")

MODEL_PARAMS = (
    ALPHA,
    CHANNEL,
    Param(
        "noise", Interval(0.0), 0.0, grid=True, differentiable=True, cli_default="0", symbol="Delta",
        help="variance of the Gaussian noise (added to the output of linear/relu/abs; before the sign for sign); "
        "0 is the exact noiseless channel",
    ),
    _spec.FLIP.replace(symbol="P(s = -1)", help="label-flip probability (sign channel only)"),
    SPARSITY,
    NONZERO_VARIANCE,
    Param(  # differentiable: the fixed point does not depend on the start (derivative 0)
        "initial_snr", Interval(0.0), 1e-6, grid=True, differentiable=True, cli_default="1e-6",
        symbol="snr_0 (E_0 = mmse(snr_0))",
        help="SNR of the side information of the uninformed start (breaks the symmetry of the abs channel; "
        "0 stays at the trivial fixed point)",
    ),
)

PARAMS = (
    MODEL_PARAMS
    + theory_options(
        Param(
            "tol", Interval(0.0, low_open=True), 1e-12, role="theory",
            help="relative tolerance on E and rho - E of the state-evolution iteration (at least 1e-6 in float32)",
        ),
        Param("max_iter", Integer(1), 20_000, role="theory", help="state-evolution iteration cap per branch"),
    )
    + simulate_options(
        2000,
        8,
        Param(
            "n_iterations", Integer(1), 30, role="simulate",
            help="GAMP steps; the reported values are those of the last iterate",
        ),
    )
)

# state_evolution: the model parameters, the number of steps and the precision.
N_STEPS = Param("n_steps", Integer(0), 30, role="theory", help="state-evolution steps (the trajectory has n_steps + 1 values)")
STATE_EVOLUTION_PARAMS = MODEL_PARAMS + (N_STEPS,) + tuple(p for p in theory_options() if p.name == "dtype")

# Noiseless thresholds: a continuous channel and the prior.
IT_THRESHOLD_PARAMS = (
    CHANNEL.replace(constraint=Choice(CONTINUOUS_CHANNELS), default="linear"),
    SPARSITY,
)
ALGORITHMIC_THRESHOLD_PARAMS = (
    SPARSITY.replace(default=REQUIRED),
    NONZERO_VARIANCE,
    Param("return_snr", Boolean(), False, role="theory", help="also return the maximising SNR"),
)

FIELDS = (
    Field("mse", "|w_hat - w*|^2 / d at the fixed point GAMP reaches from an uninformed start", label="MSE ‖ŵ − w*‖²/d"),
    Field("overlap", "w_hat . w* / d there", label="overlap ŵ·w*/d"),
    Field("test_error", "generalisation error: label error P(y != y_hat) for sign, prediction MSE (label noise "
          "included) for linear/relu/abs"),
    Field("clean_test_error", "the same against the noiseless label", label="test error (noiseless labels)"),
)
