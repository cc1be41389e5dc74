"""Command-line options that build a population spectrum and its teacher (ridge, linear dynamics).

``--spectrum identity | two-level:FRAC,TOP,BOTTOM | power-law:N_MODES,EXPONENT`` and
``--teacher isotropic | power-law:EXPONENT`` become the ``spectrum`` and ``teacher_power``
keywords (:func:`build_spectrum_teacher`).
"""

from __future__ import annotations

import argparse

import numpy as np

from .._spec import CliOption, parse_kind
from . import spectra

_SPECTRA = {
    "identity": "identity",
    "two-level": "two-level:FRAC,TOP,BOTTOM",
    "power-law": "power-law:N_MODES,EXPONENT",
}
_TEACHERS = {"isotropic": "isotropic", "power-law": "power-law:EXPONENT"}


def parse_spectrum(text: str) -> tuple:
    kind, args = parse_kind(text, "spectrum", _SPECTRA)
    if kind == "power-law":
        if not float(args[0]).is_integer():
            raise argparse.ArgumentTypeError(f"invalid spectrum {text!r}: N_MODES must be an integer")
        args[0] = int(args[0])
    return (kind, *args)


def parse_teacher(text: str) -> tuple:
    kind, args = parse_kind(text, "teacher", _TEACHERS)
    return (kind, *args)


SPECTRUM_OPTION = CliOption(
    "spectrum",
    parse_spectrum,
    "identity",
    "covariance Sigma of the covariates: 'identity' (Sigma = I, closed form), 'two-level:FRAC,TOP,BOTTOM' "
    "(a fraction FRAC of the d eigenvalues equal TOP, the rest BOTTOM; spectra.two_level) or "
    "'power-law:N_MODES,EXPONENT' (eigenvalues k^-EXPONENT, k = 1..N_MODES, each on a fraction 1/N_MODES "
    "of the directions; spectra.power_law). Simulations need every level to get an integer number of "
    "directions (e.g. --dim a multiple of N_MODES)",
)
TEACHER_OPTION = CliOption(
    "teacher",
    parse_teacher,
    "isotropic",
    "teacher direction: 'isotropic' (uniform direction, ||beta||^2 = SIGNAL) or 'power-law:EXPONENT' "
    "(needs a non-identity --spectrum): teacher_power_k = SIGNAL w_k k^-EXPONENT / sum_j w_j j^-EXPONENT "
    "over the spectrum levels k (w_k = fraction of directions at level k), so ||beta||^2 = SIGNAL",
)


def build_spectrum_teacher(options: dict, grid: dict) -> dict:
    """``spectrum`` / ``teacher_power`` keywords from the parsed options; a power-law teacher
    takes its norm from the (single-valued) ``signal`` grid entry, which it removes."""
    kind, *p = options["spectrum"]
    teacher_kind, *tp = options["teacher"]
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
        signal = np.asarray(grid.pop("signal"))
        if signal.size != 1:
            raise ValueError("signal must be a single value with --teacher power-law (it is the teacher's ||beta||^2)")
        w = np.asarray(spectrum.weights, float)
        power = w * np.arange(1, w.size + 1, dtype=float) ** (-tp[0])
        out["teacher_power"] = float(signal.ravel()[0]) * power / power.sum()
    return out
