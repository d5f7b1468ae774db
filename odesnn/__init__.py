"""odesnn: exact gradient descent for spiking neural networks posed as ODEs.

Implements Huh & Sejnowski, *Gradient Descent for Spiking Neural Networks*
(NeurIPS 2018): a threshold-triggered synapse is replaced by a gated one,
``τ ds/dt = -s + g(v) dv/dt``, so that the network is a differentiable ODE
whose exact gradient follows from a backward adjoint ODE.
"""

from ._api import simulate as simulate
from ._gradcheck import gradcheck as gradcheck
from ._gradient import gradient as gradient
from ._io import load as load
from ._io import save as save
from ._problem import Problem as Problem
from ._problem import make_problem as make_problem
from ._solution import Gradient as Gradient
from ._solution import SimulationError as SimulationError
from ._solution import Solution as Solution
from ._spike_times import SpikeTimeGradients as SpikeTimeGradients
from ._spike_times import spike_time_gradients as spike_time_gradients
from ._width_sweep import width_sweep as width_sweep
from ._width_sweep import write_width_sweep as write_width_sweep
from .models import ALIF as ALIF
from .models import LIF as LIF
from .models import NIF as NIF
from .models import QIF as QIF
from .models import AdEx as AdEx
from .models import Cost as Cost
from .models import FirstSpikeCost as FirstSpikeCost
from .models import Gate as Gate
from .models import Izhikevich as Izhikevich
from .models import Network as Network
from .models import NeuronModel as NeuronModel
from .models import Params as Params
from .models import QuadraticCost as QuadraticCost
from .models import Signal as Signal
from .models import State as State
from .models import Threshold as Threshold
from .models import array_namespace as array_namespace
from .models import register_gate_profile as register_gate_profile

__version__ = "0.1.0"

from . import analysis as analysis  # noqa: E402
from . import plotting as plotting  # noqa: E402
