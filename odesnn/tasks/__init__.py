"""The paper's tasks (§3) and their reproduction: input/target generators, evaluation, the recipes.

Every generator returns a :class:`TaskBatch`: a shared time grid ``t`` (ms),
inputs ``(B, T, M)`` and targets ``(B, T, K)``, sampled for linear
interpolation. Generators take a NumPy ``Generator`` so that a seed fixes a run.
"""

from .batch import TaskBatch as TaskBatch
from .delayed_xor import XORTask as XORTask
from .delayed_xor import xor as xor
from .sinusoid import PREDICTIVE_A as PREDICTIVE_A
from .sinusoid import SinusoidTask as SinusoidTask
from .sinusoid import autoencoder as autoencoder
from .sinusoid import linear_filter as linear_filter
from .sinusoid import predictive as predictive

__all__ = ["TaskBatch", "SinusoidTask", "XORTask", "autoencoder", "predictive", "xor", "TASKS", "evaluate",
           "refit_readout", "pick_runs", "reproduce"]

#: The tasks by name, as ``odesnn train TASK`` and :class:`odesnn.training.TrainConfig` name them.
TASKS = {"autoencoder": autoencoder, "predictive": predictive, "xor": xor}


# the reproduction floor imports the training floor, which reads TASKS above: imported after it
from .pick import pick_runs as pick_runs  # noqa: E402
from .reproduction import reproduce as reproduce  # noqa: E402
from .scoring import evaluate as evaluate  # noqa: E402
from .scoring import refit_readout as refit_readout  # noqa: E402
from .scoring import write_evaluation as write_evaluation  # noqa: E402
