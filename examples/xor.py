"""Delayed-memory XOR (the paper's §3.2) with quadratic integrate-and-fire neurons.

A network receives one or two ±1 pulses and, at a go-cue, must answer with a
+ pulse for opposite signs, a − pulse for equal signs, and nothing after a
single pulse. The defaults are small (three steps on 12 neurons, under a
minute); ``odesnn train xor --out runs/xor`` uses the paper's 80
neurons, and ``odesnn reproduce xor`` runs the whole curriculum that trains
them (2 h on a 2-core CPU, accuracy 0.8775 of 400 test trials there against a
target of 0.95; docs/reproduce.md gives its stages, results and limits).

Run ``python examples/xor.py``.
"""

from __future__ import annotations

import argparse

import jax

from odesnn.tasks import evaluate
from odesnn.training import default_config, train


def main(out="runs/xor-example", steps=3, n_neurons=12, batch_size=4, progress=True):
    """Train for ``steps`` Adam steps and return the test accuracy and decision rule."""
    jax.config.update("jax_enable_x64", True)
    cfg = default_config("xor", quick=True, steps=steps, n_neurons=n_neurons, batch_size=batch_size)
    train(cfg, out, progress=progress)
    metrics, _ = evaluate(out)
    print(f"accuracy {metrics['accuracy']:.2f}  ({metrics['decision_rule']})")
    return metrics


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/xor-example")
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    main(args.out, args.steps)
