"""Spike-time precision against solver tolerance (SciPy backend), as a work-precision table.

A small recurrent NIF network is simulated at a tight reference tolerance
and at a sweep of looser ones; each run's spike times are matched with the
reference's and the largest difference is reported beside the wall time and
the number of right-hand-side evaluations.

Run ``python examples/spike_timing.py --plot work_precision.png``.
"""

from __future__ import annotations

import argparse

import numpy as np

import odesnn
from odesnn.analysis import spike_time_precision


def small_problem(n_neurons=4, duration=100.0, seed=1):
    """A recurrent NIF network with fast synapses driven by two slow sinusoids."""
    net = odesnn.Network(n_neurons, 2, 2, neuron=odesnn.NIF(), gate=odesnn.Gate("smooth", 0.1), tau=10.0,
                         tau_f=2.0)
    params = net.init_params(seed=seed, w_scale=0.3, wf_scale=0.3, u_scale=0.03)._replace(
        I0=np.full(n_neurons, 0.06))
    t = np.arange(0.0, duration + 1.0, 2.0)
    i = np.stack([np.sin(t / 7), np.cos(t / 11)], 1)
    return odesnn.make_problem(net, params, (t, i), (t, 0.1 * i), (0.0, duration))


def main(rtols=(1e-3, 1e-5, 1e-7), duration=100.0, method="DOP853", plot=None):
    """Print and return the :class:`~odesnn.analysis.PrecisionTable`; draw it to ``plot`` if given."""
    table = spike_time_precision(small_problem(duration=duration), rtols, reference_rtol=1e-12, method=method)
    print(table)
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        from odesnn.plotting import work_precision

        work_precision(table).savefig(plot, dpi=100, bbox_inches="tight")
        print("wrote", plot)
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtols", type=float, nargs="+", default=[1e-3, 1e-5, 1e-7, 1e-9])
    parser.add_argument("--method", default="DOP853")
    parser.add_argument("--plot", default=None)
    args = parser.parse_args()
    main(tuple(args.rtols), method=args.method, plot=args.plot)
