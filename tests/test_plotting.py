"""Each plot returns a Figure whose data axes are non-empty and labelled (with units where they have them)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import odesnn  # noqa: E402
from odesnn import analysis as an  # noqa: E402
from odesnn import plotting  # noqa: E402
from odesnn._problem import make_problem  # noqa: E402
from odesnn._scipy.adjoint import adjoint  # noqa: E402
from odesnn._scipy.forward import simulate  # noqa: E402


@pytest.fixture(scope="module")
def run():
    net = odesnn.Network(3, 2, 2, neuron=odesnn.NIF(), gate=odesnn.Gate("smooth", 0.1), tau=10.0, tau_f=2.0)
    params = net.init_params(seed=2, w_scale=0.3, wf_scale=0.3, u_scale=0.03)._replace(I0=np.full(3, 0.1))
    problem = make_problem(net, params, lambda t: np.array([np.sin(t / 7), np.cos(t / 5)]),
                           lambda t: np.array([0.1, -0.1]), (0.0, 30.0))
    sol = simulate(problem, rtol=1e-9, atol=1e-11)
    assert sol.n_spikes >= 4
    return problem, sol, adjoint(sol)


def data_axes(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def check(fig):
    assert isinstance(fig, Figure)
    axes = data_axes(fig)
    assert axes
    for ax in axes:  # a panel stacked on a shared time axis takes its x label from the bottom one
        xlabels = [a.get_xlabel().strip() for a in ax.get_shared_x_axes().get_siblings(ax)]
        assert any(xlabels) and ax.get_ylabel().strip(), (xlabels, ax.get_ylabel())
        assert ax.has_data() or ax.images, ax.get_ylabel()
    plt.close(fig)
    return axes


def test_raster(run):
    _, sol, _ = run
    (ax,) = check(plotting.raster(sol))
    assert ax.get_xlabel() == "time (ms)"


def test_traces(run):
    _, sol, _ = run
    axes = check(plotting.traces(sol, neurons=(0, 1)))
    assert [ax.get_ylabel() for ax in axes][:2] == ["membrane voltage v", "synaptic current s (1/ms)"]
    assert any("target" in line.get_label() for line in axes[2].get_lines())


def test_rate_isi(run):
    _, sol, _ = run
    axes = check(plotting.rate_isi(sol))
    assert axes[0].get_xlabel() == "firing rate (Hz)" and axes[1].get_xlabel() == "inter-spike interval (ms)"


def test_current_balance(run):
    _, sol, _ = run
    (ax,) = check(plotting.current_balance(sol, neuron=1))
    assert "(1/ms)" in ax.get_ylabel() and len(ax.get_lines()) >= 3


def test_work_precision(run):
    problem, sol, _ = run
    table = an.spike_time_precision(problem, (1e-3, 1e-6), reference=sol, reference_rtol=1e-9)
    axes = check(plotting.work_precision(table))
    assert axes[0].get_xlabel() == "wall time (s)" and axes[0].get_ylabel() == "spike-time error (ms)"


def test_weight_structure(run):
    problem, _, _ = run
    axes = check(plotting.weight_structure(problem.params.Wf, an.predicted_fast_weights(problem.params)))
    assert len(axes) == 3 and len(axes[0].images) == 1 and len(axes[1].images) == 1


def test_adjoint_traces(run):
    _, sol, adj = run
    axes = check(plotting.adjoint_traces(sol, adj, neuron=0, n_points=300))
    assert len(axes) == 3 and axes[-1].get_xlabel() == "time (ms)"
    assert axes[0].get_ylabel().startswith("p_v") and axes[1].get_ylabel().startswith("p_s")
    axes = check(plotting.adjoint_traces(sol, adj, neuron=2, n_points=100, contributions=False))
    assert len(axes) == 2


def test_bad_neuron_is_named(run):
    _, sol, _ = run
    with pytest.raises(ValueError, match="neurons"):
        plotting.raster(sol, neurons=[5])
