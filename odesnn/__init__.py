"""odesnn: exact gradient descent for spiking neural networks posed as ODEs.

Implements Huh & Sejnowski, *Gradient Descent for Spiking Neural Networks*
(NeurIPS 2018): a threshold-triggered synapse is replaced by a gated one,
``τ ds/dt = -s + g(v) dv/dt``, so that the network is a differentiable ODE
whose exact gradient follows from a backward adjoint ODE.
"""

from ._api import simulate as simulate
from ._cost import Cost as Cost
from ._cost import QuadraticCost as QuadraticCost
from ._gates import Gate as Gate
from ._gates import register_gate_profile as register_gate_profile
from ._gradient import gradient as gradient
from ._io import load as load
from ._io import save as save
from ._network import Network as Network
from ._network import Params as Params
from ._network import State as State
from ._neurons import LIF as LIF
from ._neurons import NIF as NIF
from ._neurons import QIF as QIF
from ._neurons import NeuronModel as NeuronModel
from ._neurons import Threshold as Threshold
from ._signals import Signal as Signal
from ._solution import SimulationError as SimulationError
from ._solution import Solution as Solution

__version__ = "0.1.0"

from . import analysis as analysis  # noqa: E402
from . import plotting as plotting  # noqa: E402
