"""Diagnostics of a run's gradients: their noise scale over batches, and their agreement with a tight solve."""

from __future__ import annotations

import dataclasses
import time
from typing import NamedTuple

import numpy as np

from .._checks import check_integer, check_number
from ..models import Network, Params
from .config import (
    TrainConfig,
    batch_for_step,
    initial_voltages,
    make_task,
    stepped_groups,
)
from .noise_scale import noise_scale
from .objective import clip_weights, jax_trial_gradients

NOISE_SALT = 15485863  # the batches of gradient_noise_scale: never training batches, test or fitting trials


AGREEMENT_SALT = 32452843  # the batch of gradient_agreement, kept apart likewise


def gradient_noise_scale(cfg: TrainConfig, net: Network, params, n_batches=4, batch_size=None, salt=NOISE_SALT):
    """The gradient noise scale of a run's training steps at ``params``.

    For per-trial gradients ``g`` with mean ``G`` and covariance ``Σ``, the
    mean of ``B`` trials has noise ``E|noise|² = tr Σ / B``, so
    ``B_noise = tr Σ / |G|²`` is the batch size at which a step's signal and
    noise are equal; the cosine of a batch mean with ``G`` is
    ``(1 + B_noise/B)^(-1/2)``. ``|G|²`` is estimated without bias from the
    products of distinct trials' gradients, with a jackknife error over the
    batches.

    Draws ``n_batches`` independent batches of ``batch_size`` trials (default:
    ``cfg.batch_size``) from the run's task, with ``salt`` keeping them apart
    from the training batches, and measures the per-trial gradients of the
    stepped groups as a training step would take them (per ms, with the
    ``trial_clip`` weights of each batch). ``B_noise`` far above
    ``cfg.batch_size`` says a step's direction is mostly noise.

    Returns
    -------
    NoiseScale
        ``signal`` (``|E g|²``), its standard error, ``trace`` (``tr Σ``),
        ``b_noise``, the batch means and their pairwise cosines.
    """
    n_batches = check_integer("n_batches", n_batches, 2)
    size = check_integer("batch_size", cfg.batch_size if batch_size is None else batch_size, 1)
    per_trial_fn = jax_trial_gradients(cfg, net)
    task = make_task(cfg)
    groups = stepped_groups(cfg)
    samples = []
    for k in range(n_batches):
        batch, rng = batch_for_step(cfg, task, k, size=size, salt=salt)
        v0 = initial_voltages(cfg, rng, batch.size)
        _, grads, _ = per_trial_fn(params, batch, v0)
        samples.append(np.concatenate([np.reshape(g, (batch.size, -1)) for name, g in zip(Params._fields, grads)
                                       if name in groups], axis=1))
    return noise_scale(samples)


class GradientAgreement(NamedTuple):
    """One row of :func:`gradient_agreement`: gradients at one tolerance, or at shifted initial voltages.

    Attributes
    ----------
    rtol, atol : float
        The tolerances of the checked gradients.
    v0_shift : float
        Size of the shift of the initial voltages (0 for a tolerance row).
    cosines : ndarray, shape (B,)
        Each trial's cosine with its reference gradient (stepped groups together).
    norm_ratios : ndarray, shape (B,)
        Each trial's gradient norm over its reference's.
    batch_cosine : float
        Cosine of the batch's step direction (the mean gradient, with the
        ``trial_clip`` weights when the run uses them) with the reference's.
    cost_error : float
        Relative difference of the batch's mean cost from the reference's.
    seconds : float
        Seconds for the batch's per-trial gradients, compilation excluded.
    """

    rtol: float
    atol: float
    v0_shift: float
    cosines: np.ndarray
    norm_ratios: np.ndarray
    batch_cosine: float
    cost_error: float
    seconds: float


def gradient_agreement(cfg: TrainConfig, net: Network, params, rtols=(1e-4, 1e-5, 1e-6), reference_rtol=1e-9,
                       batch_size=16, v0_shifts=(), salt=AGREEMENT_SALT):
    """How close a run's gradients at looser tolerances come to those of a tight solve, at ``params``.

    A spiking network can be chaotic: an error in one spike time grows along
    the trial, and a gradient integrated at loose tolerances can point
    elsewhere than the exact one. This draws one batch of ``batch_size`` fresh
    trials from the run's task (``salt`` keeps it apart from the training
    batches), computes each trial's gradient of the stepped groups at every
    ``rtol`` and at ``reference_rtol`` (``atol`` scaled by the run's
    ``atol / rtol``), and compares them.

    Each entry ``eps`` of ``v0_shifts`` adds a row computed at the reference
    tolerance from initial voltages moved by ``eps`` times a fixed standard
    normal draw. The initial voltages of training trials are random, so a
    gradient that changes as much under such a shift as under a loose
    tolerance is as sensitive to the state as to the solver: tightening the
    tolerance then buys a more exact answer to a question the trial's random
    start already blurs. The converse does not hold: neurons that rest before
    the first input can erase such a shift before any activity amplifies it
    (see ``perturb="I0"`` in :func:`odesnn.analysis.perturbation_growth`).

    Returns
    -------
    tuple of GradientAgreement
        One per entry of ``rtols``, then one per entry of ``v0_shifts``, in their order.
    """
    rtols = tuple(np.ravel(np.asarray(rtols, dtype=object)).tolist())
    v0_shifts = tuple(np.ravel(np.asarray(v0_shifts, dtype=object)).tolist())
    check_number("reference_rtol", reference_rtol)
    for name, vals in (("rtols", rtols), ("v0_shifts", v0_shifts)):
        for i, r in enumerate(vals):
            check_number(f"{name}[{i}]", r)
    if not rtols and not v0_shifts:
        raise ValueError("`rtols` must name at least one tolerance (or `v0_shifts` one shift), got none")
    if rtols and reference_rtol >= min(rtols):
        raise ValueError(f"`reference_rtol`={reference_rtol!r} must be tighter than every one of `rtols`={rtols}")
    size = check_integer("batch_size", batch_size, 2)
    task, groups = make_task(cfg), stepped_groups(cfg)
    batch, rng = batch_for_step(cfg, task, 0, size=size, salt=salt)
    v0 = initial_voltages(cfg, rng, batch.size)
    direction = rng.standard_normal(v0.shape)
    ratio = cfg.atol / cfg.rtol

    def run(rtol, v, compile_first):
        # per-trial gradients unclipped (their norms compare), the step weighted by trial_clip as training does
        c = dataclasses.replace(cfg, rtol=rtol, atol=rtol * ratio, trial_clip=None)
        fn = jax_trial_gradients(c, net)
        if compile_first:  # each tolerance compiles its own solver; keep that out of the timing
            fn(params, batch, v)
        t0 = time.perf_counter()
        costs, grads, _ = fn(params, batch, v)
        seconds = time.perf_counter() - t0
        if not np.all(np.isfinite(costs)):
            raise RuntimeError(f"trials {np.flatnonzero(~np.isfinite(costs)).tolist()} failed to simulate at "
                               f"rtol={rtol:g}")
        flat = np.concatenate([np.reshape(g, (size, -1)) for name, g in zip(Params._fields, grads)
                               if name in groups], axis=1)
        weights = np.ones(size) if cfg.trial_clip is None else clip_weights(grads, groups, cfg.trial_clip)
        return float(np.mean(costs)), flat, weights @ flat / size, seconds

    def norm(a):
        return np.linalg.norm(a, axis=-1)

    def cosine(a, b):
        den = norm(a) * norm(b)
        return np.sum(a * b, axis=-1) / np.where(den > 0, den, 1.0)

    # the reference's own call compiles its solver (its time is not reported); the shift rows then reuse it
    ref_cost, ref, ref_step, _ = run(reference_rtol, v0, compile_first=False)
    ref_norms = np.where(norm(ref) > 0, norm(ref), 1.0)
    rows = []
    for rtol, shift in [(r, 0.0) for r in rtols] + [(reference_rtol, e) for e in v0_shifts]:
        cost, flat, step, seconds = run(rtol, v0 + shift * direction, compile_first=not shift)
        rows.append(GradientAgreement(rtol, rtol * ratio, float(shift), cosine(flat, ref), norm(flat) / ref_norms,
                                      float(cosine(step, ref_step)), abs(cost - ref_cost) / abs(ref_cost), seconds))
    return tuple(rows)
