"""Verify the adjoint gradient on a small random spiking network, three ways.

The adjoint (the paper's eqs. 5-7 with the reset jumps), forward
sensitivity (RTRL) and central finite differences along random directions
must agree; ``odesnn gradcheck`` runs the same check from the command line.

Run ``python examples/gradient_check.py``.
"""

from __future__ import annotations

import argparse

from odesnn import gradcheck


def main(model="nif", gate="smooth", neurons=4, duration=50.0, seed=0, n_directions=1, steps=(1e-5,)):
    """Run :func:`odesnn.gradcheck` on a small network; print and return its report.

    Finite differences are taken along ``n_directions`` random directions per
    parameter group at each step size in ``steps`` (the best one is kept).
    """
    report = gradcheck(model=model, gate=gate, neurons=neurons, duration=duration, seed=seed, rtol=1e-10,
                       atol=1e-11, n_directions=n_directions, steps=steps)
    print(f"{model} network, {neurons} neurons, {duration} ms, {report['n_spikes']} spikes, cost {report['loss']:.6g}")
    for key in ("adjoint_vs_fd", "forward_vs_fd", "adjoint_vs_forward"):
        print(f"  {key:20s} relative error {report[key]:.2e}")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="nif", choices=("nif", "qif", "lif"))
    parser.add_argument("--neurons", type=int, default=4)
    parser.add_argument("--duration", type=float, default=50.0)
    args = parser.parse_args()
    main(args.model, neurons=args.neurons, duration=args.duration)
