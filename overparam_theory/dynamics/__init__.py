"""Learning dynamics in the proportional limit.

- :mod:`~overparam_theory.dynamics.linear` (model name ``linear_dynamics``): gradient flow and
  gradient descent on least squares from zero initialisation, test risk at every time from the
  spectral (Marchenko-Pastur / deterministic-equivalent) formulas; early stopping; epoch-wise
  double descent with two feature scales.  ``docs/theory/linear_dynamics.md``.
- :mod:`~overparam_theory.dynamics.committee` (model name ``committee``): online SGD of a soft
  committee machine in the teacher-student setup, the Saad-Solla / Goldt et al. ODEs for the
  order parameters with erf activation.  ``docs/theory/committee.md``.

Both return fields with a trailing time axis (``TIME_AXIS = True``).
"""

from . import committee as committee
from . import linear as linear
