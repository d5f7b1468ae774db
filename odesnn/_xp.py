"""Array-namespace dispatch so that the model math is written once.

Every model function takes arrays and asks :func:`namespace` which module
(:mod:`numpy` or :mod:`jax.numpy`) to use. The SciPy backend passes NumPy
arrays and so never touches JAX; the JAX backend passes (traced) JAX arrays.
"""

from __future__ import annotations

import sys

import numpy as np


def namespace(*xs):
    """The array module for the arguments: ``jax.numpy`` if any of them is a JAX array, else ``numpy``.

    Public as :func:`odesnn.array_namespace`, for a user-defined neuron model whose functions need more than
    operators (``exp``, ``where``, ...): ``xp = odesnn.array_namespace(v, I)`` then ``xp.exp(v)`` runs on NumPy
    arrays in the SciPy backend and on (traced) JAX arrays in the JAX backend. It never imports JAX itself.

    Examples
    --------
    >>> import numpy as np
    >>> from odesnn import array_namespace
    >>> array_namespace(np.zeros(3)) is np
    True
    """
    jax = sys.modules.get("jax")
    if jax is not None:
        for x in xs:
            if isinstance(x, jax.Array):
                import jax.numpy as jnp

                return jnp
    return np


array_namespace = namespace  # the public name (odesnn.array_namespace)
