"""odesnn.training.map_jobs: independent calls in worker processes give what they give in order, here."""

import operator

import jax.numpy as jnp
import numpy as np
import pytest

from odesnn.training import map_jobs


def test_workers_give_the_serial_results_in_order():
    items = [(2, k) for k in range(6)]
    seen = []
    out = map_jobs(operator.pow, items, jobs=2, on_result=lambda i, r: seen.append((i, r)))
    assert out == [2 ** k for k in range(6)] == map_jobs(operator.pow, items, jobs=1)
    assert sorted(seen) == list(enumerate(out))  # each result reported once, with its index


def test_workers_keep_float64():
    """A spawned worker has the parent's jax_enable_x64 (the test suite turns it on)."""
    out = map_jobs(jnp.ones, [(2,), (3,)], jobs=2)
    assert [np.asarray(a).dtype for a in out] == [np.float64, np.float64]


def test_a_failing_call_raises_its_error():
    with pytest.raises(ZeroDivisionError):
        map_jobs(operator.truediv, [(1, 1), (1, 0), (2, 1)], jobs=2)
    with pytest.raises(ZeroDivisionError):
        map_jobs(operator.truediv, [(1, 0)], jobs=1)
