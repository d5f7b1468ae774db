import os

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)


import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def assert_adjoint_matches_forward():
    """A check: the SciPy adjoint gradient of ``problem`` equals forward sensitivity's (rtol 1e-12) to
    ``BOUNDS["adjoint_vs_forward"]`` in every parameter group, on a trial of at least ``min_spikes`` spikes."""
    from odesnn._gradcheck import BOUNDS
    from odesnn._scipy.adjoint import adjoint
    from odesnn._scipy.forward import simulate
    from odesnn._scipy.sensitivity import forward_sensitivity

    def check(problem, min_spikes=20):
        sol = simulate(problem, rtol=1e-12, atol=1e-12)
        assert sol.n_spikes >= min_spikes
        adj = adjoint(sol).grads
        fwd = forward_sensitivity(problem, rtol=1e-12, atol=1e-12).grads
        for name in ("W", "Wf", "U", "O", "I0"):
            a, b = getattr(adj, name), getattr(fwd, name)
            assert np.linalg.norm(a - b) <= BOUNDS["adjoint_vs_forward"] * np.linalg.norm(b), name

    return check
