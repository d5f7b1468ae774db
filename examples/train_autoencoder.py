"""Train a spiking auto-encoder (the paper's §3.1) with the exact adjoint gradient.

Thirty non-leaky IF neurons learn to represent two low-pass filtered
sum-of-sinusoid signals with fast (τ_f = 1 ms) and regular (τ = 10 ms)
synapses. The defaults here are small so that the example runs in about a
minute; ``odesnn train autoencoder --out runs/ae`` uses the paper's settings.

Run ``python examples/train_autoencoder.py``.
"""

from __future__ import annotations

import argparse

import jax

from odesnn.tasks import evaluate
from odesnn.training import default_config, train


def main(out="runs/autoencoder-example", steps=5, n_neurons=10, batch_size=4, duration=200.0, progress=True):
    """Train for ``steps`` Adam steps, evaluate on fresh trials and return the metrics."""
    jax.config.update("jax_enable_x64", True)
    cfg = default_config("autoencoder", quick=True, steps=steps, n_neurons=n_neurons, batch_size=batch_size,
                         duration=duration, task_kwargs={"period": duration})
    train(cfg, out, progress=progress)
    metrics, _ = evaluate(out)
    for key in ("rel_error", "corr_Wf_UO", "corr_U_OT", "spike_ratio"):
        print(f"{key:12s} {metrics[key]:.3f}")
    return metrics


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/autoencoder-example")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    main(args.out, args.steps)
