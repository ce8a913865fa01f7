"""Pure, batched NumPy/SciPy physics of isac-gym.

Knows nothing of Gymnasium, cvxpy or torch. Arrays and an explicit ``np.random.Generator`` in,
arrays out; trailing axes carry the math, leading axes are batch.

The scenario-level metric functions of the Rydberg task take ``(scenario, W, phi)``:
:func:`sum_rate`, :func:`sinr`, :func:`crb` (2x2) and :func:`crb_trace`. The robust task lives in
the :mod:`isac_env.physics.robust` namespace (``robust.sample_scenario``, ``robust.certify``, ...).
"""

from . import arrays, channels, comms, rar, ris, robust, rydberg, sensing, units
from .rar import (
    RydbergScenario,
    crb,
    crb_trace,
    effective_channels,
    evaluate,
    sample_scenario,
    sinr,
    stack_scenarios,
    sum_rate,
    transmit_power_w,
)

__all__ = [
    "RydbergScenario",
    "arrays",
    "channels",
    "comms",
    "crb",
    "crb_trace",
    "effective_channels",
    "evaluate",
    "rar",
    "ris",
    "robust",
    "rydberg",
    "sample_scenario",
    "sensing",
    "sinr",
    "stack_scenarios",
    "sum_rate",
    "transmit_power_w",
    "units",
]
