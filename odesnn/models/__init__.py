"""The model, written once: neuron models, gates, the network's coupling, costs and input signals.

Both backends, the adjoint and forward sensitivity evaluate these objects (through
:mod:`odesnn._dynamics`); nothing here depends on a backend.
"""

from .cost import Cost as Cost, QuadraticCost as QuadraticCost
from .gates import Gate as Gate, register_gate_profile as register_gate_profile
from .network import Network as Network, Params as Params, State as State
from .neurons import LIF as LIF, NIF as NIF, QIF as QIF, NeuronModel as NeuronModel, Threshold as Threshold
from .signals import Signal as Signal
