"""Array-namespace dispatch so that the model math is written once.

Every model function takes arrays and asks :func:`namespace` which module
(:mod:`numpy` or :mod:`jax.numpy`) to use. The SciPy backend passes NumPy
arrays and so never touches JAX; the JAX backend passes (traced) JAX arrays.
"""

from __future__ import annotations

import sys

import numpy as np


def namespace(*xs):
    """Return ``jax.numpy`` if any argument is a JAX array, else ``numpy``."""
    jax = sys.modules.get("jax")
    if jax is not None:
        for x in xs:
            if isinstance(x, jax.Array):
                import jax.numpy as jnp

                return jnp
    return np
