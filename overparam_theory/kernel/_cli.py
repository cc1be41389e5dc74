"""Command-line options of the kernel model: the spectrum and target as text specifications.

``--kernel-spectrum power-law:N_MODES,EXPONENT`` (``eta_k = k^-EXPONENT``, ``k = 1..N_MODES``)
and ``--target power-law:EXPONENT`` (``v_k = k^-EXPONENT``) become the library's
``eigenvalues`` and ``target`` (:func:`cli_build`).
"""

from __future__ import annotations

import argparse

import numpy as np

from .._spec import CliOption, parse_kind

_KERNEL_SPECTRA = {"power-law": "power-law:N_MODES,EXPONENT"}
_TARGETS = {"power-law": "power-law:EXPONENT"}


def parse_kernel_spectrum(text: str) -> tuple:
    """``'power-law:N_MODES,EXPONENT'`` -> ``("power-law", N_MODES, EXPONENT)``."""
    kind, (n_modes, exponent) = parse_kind(text, "kernel spectrum", _KERNEL_SPECTRA)
    if not float(n_modes).is_integer() or n_modes < 1:
        raise argparse.ArgumentTypeError(f"invalid kernel spectrum {text!r}: N_MODES must be an integer >= 1")
    return (kind, int(n_modes), exponent)


def parse_target(text: str) -> tuple:
    """``'power-law:EXPONENT'`` -> ``("power-law", EXPONENT)``."""
    kind, args = parse_kind(text, "target", _TARGETS)
    return (kind, *args)


CLI_OPTIONS = (
    CliOption(
        "kernel_spectrum",
        parse_kernel_spectrum,
        "power-law:2000,1.5",
        "kernel eigenvalues: 'power-law:N_MODES,EXPONENT', eta_k = k^-EXPONENT for k = 1..N_MODES, "
        "no normalisation. The simulation uses the synthetic kernel with Gaussian features "
        "z ~ N(0, I_N_MODES); cost per seed ~ n^2 N_MODES",
    ),
    CliOption(
        "target",
        parse_target,
        "power-law:1",
        "target coefficients in the kernel eigenbasis: 'power-law:EXPONENT', v_k = k^-EXPONENT "
        "(the coefficients v_k, not their squares)",
    ),
)


def cli_build(options: dict, grid: dict) -> dict:
    """``eigenvalues`` and ``target`` from the parsed ``kernel_spectrum`` and ``target`` options.

    The ``n_samples`` grid (if present) is rounded to integers in place, duplicates removed
    with the order kept, as the simulation needs whole sample counts.
    """
    from ..numerics import spectra

    if "n_samples" in grid:
        values = np.rint(np.asarray(grid["n_samples"], float))
        if values.ndim == 1:
            _, first = np.unique(values, return_index=True)
            values = values[np.sort(first)]
        grid["n_samples"] = values
    _, n_modes, exponent = options["kernel_spectrum"]
    eigenvalues = np.asarray(spectra.power_law(n_modes, exponent).eigenvalues)
    k = np.arange(1, n_modes + 1, dtype=float)
    return {"eigenvalues": eigenvalues, "target": k ** (-options["target"][1])}
