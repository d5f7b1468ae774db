"""Train first-spike times: a loss on when each neuron first fires, with exact gradients at zero gate width.

The network is four LIF neurons on the threshold synapse (``gate=None``, the
zero-width limit: each spike adds ``1/τ`` to ``s`` at once). The cost is
:class:`odesnn.FirstSpikeCost`, ``Σ_n (w/2)(t_n - t̂_n)²`` over each neuron's
first spike ``t_n``, with no running cost. Its gradient with respect to
``W``, ``U`` and ``I0`` is exact: the adjoint jumps at each spike by the
event-time sensitivity (docs/zero-width.md), so the loss falls under optax's
Adam without any surrogate. ``--width`` trains with a gate of that width
instead.

Run ``python examples/first_spike.py``.
"""

from __future__ import annotations

import argparse

import numpy as np

import odesnn


def make_network(width=None, targets=(4.0, 6.0, 9.0, 12.0)):
    """Four LIF neurons (τ_m = 5 ms) driven by one constant input, scored on their first spikes."""
    gate = None if not width else odesnn.Gate("smooth", width)
    cost = odesnn.FirstSpikeCost(targets, weight=1.0)
    net = odesnn.Network(len(targets), 1, 1, neuron=odesnn.LIF(tau_m=5.0), gate=gate, tau=5.0, cost=cost)
    n = net.n_neurons
    params = odesnn.Params(W=0.3 * np.tril(np.ones((n, n)), -1), Wf=np.zeros((n, 0)), U=np.full((n, 1), 0.2),
                           O=np.zeros((1, n)), I0=np.full(n, 1.1))
    return net, params


def main(steps=25, lr=0.02, width=None, duration=20.0, verbose=True):
    """Train ``W``, ``U`` and ``I0`` for ``steps`` Adam steps; return the loss before each step and the last.

    Returns a dict with ``loss`` (``steps + 1`` values), ``first_spikes`` before and after, and ``targets``.
    """
    import optax

    net, params = make_network(width)
    args = dict(inputs=np.array([1.0]), t_span=(0.0, duration), rtol=1e-10, atol=1e-12)
    trainable = ("W", "U", "I0")
    optimizer = optax.adam(lr)
    state = optimizer.init({name: getattr(params, name) for name in trainable})

    def first_spikes(p):
        sol = odesnn.simulate(net, p, **args)
        index = net.cost.first_spikes(sol.spike_times, sol.spike_neurons, sol.spike_signs, net.n_neurons)
        return np.where(index >= 0, sol.spike_times[np.maximum(index, 0)], np.nan)

    before = first_spikes(params)
    losses = []
    for step in range(steps):
        cost, grads = odesnn.gradient(net, params, method="adjoint", **args)
        losses.append(cost)
        updates, state = optimizer.update({name: np.asarray(getattr(grads, name)) for name in trainable}, state)
        params = params._replace(**{name: np.asarray(getattr(params, name) + updates[name]) for name in trainable})
        if verbose:
            print(f"step {step:3d}  loss {cost:.6f}")
    losses.append(odesnn.simulate(net, params, **args).cost)
    after = first_spikes(params)
    if verbose:
        print(f"final     loss {losses[-1]:.6f}")
        print("targets      ", np.round(net.cost.targets, 3))
        print("first spikes ", np.round(before, 3), "->", np.round(after, 3))
    return {"loss": np.array(losses), "first_spikes_before": before, "first_spikes_after": after,
            "targets": np.array(net.cost.targets)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=25, help="Adam steps")
    parser.add_argument("--lr", type=float, default=0.02, help="Adam learning rate")
    parser.add_argument("--width", type=float, default=None, help="gate width (default: zero width, gate=None)")
    args = parser.parse_args()
    main(args.steps, args.lr, args.width)
