"""The model, written once: neuron models, gates, the network's coupling, costs and input signals.

Both backends, the adjoint and forward sensitivity evaluate these objects (through
:mod:`odesnn._dynamics`); nothing here depends on a backend.
"""

from .._xp import array_namespace as array_namespace
from .adaptive import ALIF as ALIF
from .adaptive import AdEx as AdEx
from .adaptive import Izhikevich as Izhikevich
from .cost import Cost as Cost
from .cost import FirstSpikeCost as FirstSpikeCost
from .cost import QuadraticCost as QuadraticCost
from .gates import Gate as Gate
from .gates import register_gate_profile as register_gate_profile
from .network import Network as Network
from .network import Params as Params
from .network import State as State
from .neurons import LIF as LIF
from .neurons import NIF as NIF
from .neurons import QIF as QIF
from .neurons import NeuronModel as NeuronModel
from .neurons import Threshold as Threshold
from .signals import Signal as Signal
