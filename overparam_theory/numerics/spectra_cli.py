"""Command-line options for a population covariance and its teacher (``--spectrum``, ``--teacher``).

Shared by the models on the ridge data model (``x ~ N(0, Sigma)``, ``y = <x, beta> + eps``):
``ridge`` and ``linear_dynamics``.  Each option is a :class:`~overparam_theory._spec.CliOption`
(its parser turns the text into a tuple ``(kind, *numbers)``); :func:`build_spectrum_teacher`
turns the parsed values into the library keywords ``spectrum`` and ``teacher_power``
(:func:`~overparam_theory.numerics.spectra.two_level`, :func:`~overparam_theory.numerics.spectra.power_law`).
"""

from __future__ import annotations

import argparse

import numpy as np

from .._spec import CliOption, parse_kind

__all__ = [
    "SPECTRUM_OPTION",
    "TEACHER_OPTION",
    "build_spectrum_teacher",
    "parse_spectrum",
    "parse_teacher",
]

SPECTRUM_FORMS = {
    "identity": "identity",
    "two-level": "two-level:FRAC,TOP,BOTTOM",
    "power-law": "power-law:N_MODES,EXPONENT",
}
TEACHER_FORMS = {"isotropic": "isotropic", "power-law": "power-law:EXPONENT"}


def integer_argument(value: float, name: str, text: str) -> int:
    """``value`` as an ``int`` (``N_MODES`` of a spectrum option), else ``ArgumentTypeError``."""
    if not float(value).is_integer():
        raise argparse.ArgumentTypeError(f"invalid {name} {text!r}: N_MODES must be an integer")
    return int(value)


def parse_spectrum(text: str) -> tuple:
    """``identity``, ``two-level:FRAC,TOP,BOTTOM`` or ``power-law:N_MODES,EXPONENT``."""
    kind, args = parse_kind(text, "spectrum", SPECTRUM_FORMS)
    if kind == "identity":
        return (kind,)
    if kind == "two-level":
        return (kind, *args)
    return (kind, integer_argument(args[0], "spectrum", text), args[1])


def parse_teacher(text: str) -> tuple:
    """``isotropic`` or ``power-law:EXPONENT``."""
    kind, args = parse_kind(text, "teacher", TEACHER_FORMS)
    return (kind, *args)


SPECTRUM_OPTION = CliOption(
    name="spectrum",
    parse=parse_spectrum,
    default="identity",
    help="covariance Sigma of the covariates: 'identity' (Sigma = I, closed form of Hastie et al.; "
    "default), 'two-level:FRAC,TOP,BOTTOM' (a fraction FRAC of the d eigenvalues equal TOP, the rest "
    "BOTTOM; spectra.two_level) or 'power-law:N_MODES,EXPONENT' (eigenvalues k^-EXPONENT, "
    "k = 1..N_MODES, each on a fraction 1/N_MODES of the d directions; spectra.power_law). "
    "Simulations need every level to get an integer number of directions (e.g. --dim a multiple "
    "of N_MODES)",
)
TEACHER_OPTION = CliOption(
    name="teacher",
    parse=parse_teacher,
    default="isotropic",
    help="teacher direction: 'isotropic' (uniform direction, ||beta||^2 = SIGNAL; default) or "
    "'power-law:EXPONENT' (needs a non-identity --spectrum): teacher_power_k = SIGNAL * w_k "
    "k^-EXPONENT / sum_j w_j j^-EXPONENT for the spectrum levels k = 1..K in the order listed "
    "under --spectrum (w_k = fraction of directions at level k), i.e. the squared teacher "
    "coefficient per direction is proportional to k^-EXPONENT and ||beta||^2 = SIGNAL",
)


def _parsed(options: dict, option: CliOption) -> tuple:
    value = options.get(option.name, option.default)
    return option.parse(value) if isinstance(value, str) else tuple(value)


def build_spectrum_teacher(options: dict, grid: dict) -> dict:
    """Library keywords from the parsed ``--spectrum`` / ``--teacher`` options.

    Returns ``{}`` for the identity spectrum, else ``{"spectrum": ...}`` plus, for a power-law
    teacher, ``"teacher_power"`` (``teacher_power_k = signal w_k k^-EXPONENT / sum_j w_j
    j^-EXPONENT``); the power-law teacher takes ``signal`` (a single value, default 1) out of
    ``grid``.  Raises ``ValueError`` for a power-law teacher on the identity spectrum or a
    multi-valued ``signal``.
    """
    from . import spectra

    kind, *p = _parsed(options, SPECTRUM_OPTION)
    teacher_kind, *tp = _parsed(options, TEACHER_OPTION)
    if kind == "identity":
        if teacher_kind != "isotropic":
            raise ValueError(
                "--teacher power-law needs an anisotropic --spectrum (two-level:... or power-law:...); "
                "with --spectrum identity every direction is equivalent"
            )
        return {}
    spectrum = spectra.two_level(*p) if kind == "two-level" else spectra.power_law(int(p[0]), p[1])
    out = {"spectrum": spectrum}
    if teacher_kind == "power-law":
        signal = grid.pop("signal", None)
        signal = np.asarray(1.0 if signal is None else signal, float)
        if signal.size != 1:
            raise ValueError("signal must be a single value with --teacher power-law (it is the teacher's ||beta||^2)")
        w = np.asarray(spectrum.weights, float)
        k = np.arange(1, w.size + 1, dtype=float)
        power = w * k ** (-tp[0])
        out["teacher_power"] = float(signal.ravel()[0]) * power / power.sum()
    return out
