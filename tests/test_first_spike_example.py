"""examples/first_spike.py runs its main() with few steps and its first-spike loss goes down (smoke test)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "first_spike.py"


def load():
    spec = importlib.util.spec_from_file_location("odesnn_example_first_spike", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_first_spike_training_lowers_the_loss():
    out = load().main(steps=4, verbose=False)
    loss = out["loss"]
    assert loss.shape == (5,) and np.all(np.isfinite(loss))
    assert loss[-1] < 0.5 * loss[0]
    miss = lambda t: np.linalg.norm(t - out["targets"])  # noqa: E731
    assert miss(out["first_spikes_after"]) < miss(out["first_spikes_before"])
