"""Independent pieces of work (training stages, scorings) in worker processes, one per CPU core asked for.

JAX on a CPU runs one small network's loop on about one core, so runs that do
not depend on each other (stages on different batch seeds, the scorings of a
pick) finish sooner side by side in processes of their own. Each worker is a
fresh interpreter (the ``spawn`` start method: JAX does not survive a
``fork``) with the parent's ``jax_enable_x64``. A piece computes in its worker
exactly what it computes in the parent, so the results do not depend on
``jobs``.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

from .._checks import check_integer, show

__all__ = ["map_jobs"]


def _init_worker(x64):
    import jax

    jax.config.update("jax_enable_x64", x64)


def map_jobs(fn, items, jobs=1, on_result=None):
    """``[fn(*item) for item in items]``, computed in ``jobs`` worker processes when ``jobs > 1``.

    Parameters
    ----------
    fn : callable
        A module-level function (the workers import it by name).
    items : sequence of tuple
        The arguments of each call; they and the results must pickle.
    jobs : int
        Worker processes, at least 1. With 1 (or a single item) the calls run here, in order.
    on_result : callable or None
        Called in this process as ``on_result(index, result)`` as each call finishes (in the order they
        finish), e.g. to report progress.

    Returns
    -------
    list
        The results in the order of ``items``.

    Raises
    ------
    Exception
        The first exception a call raised; the calls not yet started are cancelled, and those running
        finish first.
    """
    jobs = check_integer("jobs", jobs, 1)
    if not callable(fn):
        raise TypeError(f"`fn` must be callable, got {show(fn)}")
    if on_result is not None and not callable(on_result):
        raise TypeError(f"`on_result` must be None or a function (index, result), got {show(on_result)}")
    items = [tuple(item) for item in items]
    results = [None] * len(items)
    if jobs == 1 or len(items) <= 1:
        for i, item in enumerate(items):
            results[i] = fn(*item)
            if on_result is not None:
                on_result(i, results[i])
        return results
    import jax

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(jobs, len(items)), mp_context=context, initializer=_init_worker,
                             initargs=(bool(jax.config.jax_enable_x64),)) as pool:
        index = {pool.submit(fn, *item): i for i, item in enumerate(items)}
        pending = set(index)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                if future.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise future.exception()
                results[index[future]] = future.result()
                if on_result is not None:
                    on_result(index[future], results[index[future]])
    return results
