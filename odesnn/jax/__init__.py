"""JAX backend (diffrax): batched compiled simulation through threshold events, adjoint gradient behind jax.grad."""

from ..models.network import register_state_pytree as _register_state_pytree

_register_state_pytree()

from ._baseline import baseline_costs as baseline_costs
from ._baseline import baseline_value_and_grad as baseline_value_and_grad
from ._batch import Batch as Batch
from ._batch import batch_from_problems as batch_from_problems
from ._batch import make_batch as make_batch
from ._model import Model as Model
from ._options import Options as Options
from ._run import cast as cast
from ._sharding import shard_batch as shard_batch
from ._simulate import cost as cost
from ._simulate import loss_and_grad as loss_and_grad
from ._simulate import per_trial_value_and_grad as per_trial_value_and_grad
from ._simulate import simulate as simulate
from ._simulate import value_and_grad as value_and_grad
