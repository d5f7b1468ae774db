"""Run the JAX-backend benchmarks: ``python benchmarks/jax_bench.py [--case NAME] [--json]``.

A thin wrapper around :mod:`odesnn.bench` (the future ``odesnn bench`` command).
"""

from odesnn.bench import main

if __name__ == "__main__":
    main()
