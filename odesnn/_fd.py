"""Central finite differences of the cost, with a sweep of step sizes.

Directional derivatives ``(C(θ + h d) - C(θ - h d)) / 2h`` are taken along a
few random unit directions per parameter group (respecting structural masks),
or along every coordinate (``directions="full"``). A gradient ``g`` is then
compared through its projections ``g·d``.
"""

from __future__ import annotations

import numpy as np

from .models.network import Params

DEFAULT_STEPS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6)


def fd_directions(net, params, n_directions=2, seed=0, full=False):
    """Unit directions per parameter group: ``{name: [array, ...]}``."""
    rng = np.random.default_rng(seed)
    masks = {"W": net.W_mask_array, "Wf": net.Wf_mask_array}
    out = {}
    for name, value in zip(Params._fields, params):
        value = np.asarray(value)
        if value.size == 0:
            continue
        mask = masks.get(name, np.ones(value.shape))
        if full:
            dirs = []
            for idx in zip(*np.nonzero(mask)):
                d = np.zeros(value.shape)
                d[idx] = 1.0
                dirs.append(d)
        else:
            dirs = []
            for _ in range(n_directions):
                d = rng.standard_normal(value.shape) * mask
                dirs.append(d / np.linalg.norm(d))
        if dirs:
            out[name] = dirs
    return out


def finite_differences(cost, params, directions, steps=DEFAULT_STEPS):
    """Directional derivatives for each step size: ``{h: {name: array (n_dir,)}}``.

    ``cost(params) -> float``.
    """
    result = {}
    for h in steps:
        per = {}
        for name, dirs in directions.items():
            vals = []
            for d in dirs:
                base = np.asarray(getattr(params, name))
                cp = cost(params._replace(**{name: base + h * d}))
                cm = cost(params._replace(**{name: base - h * d}))
                vals.append((cp - cm) / (2 * h))
            per[name] = np.array(vals)
        result[h] = per
    return result


def project(grads, directions):
    """Projections ``{name: array}`` of a gradient onto the FD directions."""
    return {name: np.array([np.sum(np.asarray(getattr(grads, name)) * d) for d in dirs])
            for name, dirs in directions.items()}


def rel_error(a, b):
    """``‖a - b‖ / ‖b‖`` (``‖a - b‖`` if ``b`` vanishes)."""
    a, b = np.ravel(a), np.ravel(b)
    nb = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / nb) if nb > 0 else float(np.linalg.norm(a - b))


def max_group_error(a: dict, b: dict):
    """Maximum over parameter groups of ``‖a - b‖/‖b‖``."""
    return max(rel_error(a[name], b[name]) for name in b)


def best_fd_agreement(grads, directions, fd):
    """The step size whose FD estimates agree best with ``grads``, and that error."""
    proj = project(grads, directions)
    errs = {h: max_group_error(proj, per) for h, per in fd.items()}
    h_best = min(errs, key=errs.get)
    return h_best, errs[h_best], errs
