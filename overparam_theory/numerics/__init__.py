"""Shared numerical machinery with no model knowledge.

- :mod:`~overparam_theory.numerics.roots`: safeguarded bracketed scalar roots (jit/vmap/grad).
- :mod:`~overparam_theory.numerics.fixed_point`: damped / Anderson fixed points with diagnostics
  and implicit differentiation.
- :mod:`~overparam_theory.numerics.gaussian`: Gaussian expectations (Gauss-Hermite, 1-D split at
  kinks, correlated 2-D) and stable normal-tail special functions.
- :mod:`~overparam_theory.numerics.spectra`: spectral measures (Marchenko-Pastur, discrete,
  two-level, power law) and their Stieltjes-type traces; :mod:`~overparam_theory.numerics.spectra_cli`
  their command-line options (``--spectrum``, ``--teacher``).
- :mod:`~overparam_theory.numerics.ode`: adaptive Dormand-Prince 5(4) landing on the output
  times (jit/vmap), with a divergence bound and per-trajectory diagnostics.
"""
