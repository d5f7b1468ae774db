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


def __getattr__(name):
    # the reproduction floor (evaluate, pick, reproduce) imports the training floor, which imports the task
    # generators above: it loads on first use
    if name in ("evaluate", "refit_readout", "write_evaluation"):
        from . import scoring as module
    elif name == "pick_runs":
        from . import pick as module
    elif name == "reproduce":
        from . import reproduction as module
    else:
        raise AttributeError(f"module 'odesnn.tasks' has no attribute {name!r}")
    return getattr(module, name)
