"""Bad input gets a clear error that names the argument and shows the value."""

import numpy as np
import pytest

import odesnn


@pytest.fixture
def net():
    return odesnn.Network(3, 2, 1, neuron=odesnn.NIF(), gate=odesnn.Gate("box", 0.1), tau=10.0, tau_f=1.0)


@pytest.fixture
def params(net):
    return net.init_params(0)


BAD_CASES = [
    # (description, kwargs change, exception, message fragment)
    ("W wrong shape", lambda p: dict(params=p._replace(W=np.zeros((2, 3)))), ValueError, r"params\.W.*\(3, 3\)"),
    ("U wrong shape", lambda p: dict(params=p._replace(U=np.zeros((3, 1)))), ValueError, r"params\.U"),
    ("Wf NaN", lambda p: dict(params=p._replace(Wf=np.full((3, 3), np.nan))), ValueError, r"params\.Wf.*non-finite"),
    ("I0 inf", lambda p: dict(params=p._replace(I0=np.array([0, np.inf, 0]))), ValueError, r"params\.I0"),
    ("t1 <= t0", lambda p: dict(t_span=(10.0, 10.0)), ValueError, r"t_span.*t1 > t0"),
    ("t1 < t0", lambda p: dict(t_span=(10.0, 5.0)), ValueError, r"t0=10.0, t1=5.0"),
    ("t_span nan", lambda p: dict(t_span=(0.0, np.nan)), ValueError, r"t_span"),
    ("t_span missing", lambda p: dict(t_span=None), ValueError, r"t_span"),
    ("v0 shape", lambda p: dict(v0=np.zeros(4)), ValueError, r"v0.*\(3,\)"),
    ("v0 nan", lambda p: dict(v0=np.array([0, np.nan, 0])), ValueError, r"v0.*non-finite"),
    ("v0 above threshold", lambda p: dict(v0=np.array([0, 1.5, 0])), ValueError, r"v0.*threshold"),
    ("inputs channels", lambda p: dict(inputs=np.zeros(3)), TypeError, r"inputs"),
    ("inputs nan samples", lambda p: dict(inputs=(np.array([0.0, 1.0]), np.array([[0, 0], [np.nan, 0]]))),
     ValueError, r"finite"),
    ("inputs non-increasing grid", lambda p: dict(inputs=(np.array([1.0, 0.0]), np.zeros((2, 2)))),
     ValueError, r"strictly increasing"),
    ("target callable shape", lambda p: dict(target=lambda t: np.zeros(2)), ValueError, r"target.*\(1,\)"),
    ("rtol negative", lambda p: dict(rtol=-1.0), ValueError, r"rtol.*-1.0"),
    ("unknown option", lambda p: dict(foo=1), TypeError, r"foo"),
    ("unknown method", lambda p: dict(method="Euler"), ValueError, r"method.*Euler"),
    ("unknown backend", lambda p: dict(backend="torch"), ValueError, r"backend.*torch"),
]


@pytest.mark.parametrize("case", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_simulate_rejects(case, net, params):
    _, change, exc, match = case
    kwargs = dict(params=params, t_span=(0.0, 10.0))
    kwargs.update(change(params))
    with pytest.raises(exc, match=match):
        odesnn.simulate(net, kwargs.pop("params"), **kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(n_neurons=0), "n_neurons"),
        (dict(n_neurons=3, tau=0.0), r"tau.*0.0"),
        (dict(n_neurons=3, tau=-5.0), r"tau.*-5.0"),
        (dict(n_neurons=3, tau_f=float("nan")), "tau_f"),
        (dict(n_neurons=3, W_mask="upper"), "W_mask"),
        (dict(n_neurons=3, n_inputs=-1), "n_inputs"),
    ],
)
def test_network_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        odesnn.Network(**kwargs)


def test_network_type_errors():
    with pytest.raises(TypeError, match="neuron"):
        odesnn.Network(3, neuron="nif")
    with pytest.raises(TypeError, match="gate"):
        odesnn.Network(3, gate=0.1)
    with pytest.raises(ValueError, match="lam"):
        odesnn.QuadraticCost(lam=-1.0)


def test_gradient_rejects_unknown_method(net, params):
    with pytest.raises(ValueError, match="method.*bptt"):
        odesnn.gradient(net, params, t_span=(0, 1.0), method="bptt")


def test_complex_params_rejected(net, params):
    with pytest.raises(TypeError, match=r"params\.U.*real"):
        odesnn.simulate(net, params._replace(U=params.U + 1j), t_span=(0, 1.0))


@pytest.mark.parametrize("W_mask,Wf_mask,group,entry", [
    ("full", "zero_diag", "Wf", (1, 1)),         # the default Wf mask: no fast self-connection
    ("zero_diag", "full", "W", (2, 2)),
    ("strict_lower", "zero_diag", "W", (0, 2)),  # feed-forward: nothing above the diagonal
    ("lower", "zero_diag", "W", (1, 2)),
    ("none", "zero_diag", "W", (2, 0)),          # no W at all
    ("full", "none", "Wf", (0, 1)),
])
def test_a_masked_entry_set_by_the_user_is_refused_by_name(W_mask, Wf_mask, group, entry, tmp_path):
    net = odesnn.Network(3, 1, 1, gate=odesnn.Gate("box", 0.1), tau_f=1.0, W_mask=W_mask, Wf_mask=Wf_mask)
    good = net.init_params(0)
    value = getattr(good, group).copy()
    value[entry] = 0.25
    bad = good._replace(**{group: value})
    mask = W_mask if group == "W" else Wf_mask
    match = rf"params\.{group}.*{group}_mask`='{mask}'.*\({entry[0]}, {entry[1]}\) = 0\.25"
    with pytest.raises(ValueError, match=match):
        odesnn.simulate(net, bad, t_span=(0.0, 1.0))
    with pytest.raises(ValueError, match=match):
        odesnn.save(tmp_path / "net", net, bad)
    # the same parameters with the entry at zero (or -0.0) are accepted: the mask's own zeros
    value[entry] = -0.0
    odesnn.simulate(net, good._replace(**{group: value}), t_span=(0.0, 1.0))


def test_a_saved_file_with_a_masked_entry_is_refused_on_load(tmp_path):
    net = odesnn.Network(3, 1, 1, tau_f=1.0)  # Wf_mask="zero_diag" by default
    params = net.init_params(0)
    odesnn.save(tmp_path, net, params)
    Wf = params.Wf.copy()
    Wf[0, 0] = 0.5
    np.savez(tmp_path / "params.npz", **params._replace(Wf=Wf)._asdict())
    with pytest.raises(ValueError, match=r"params\.Wf.*1 non-zero entries.*\(0, 0\) = 0\.5"):
        odesnn.load(tmp_path)


def test_many_masked_entries_are_counted_not_all_listed():
    net = odesnn.Network(8, 1, 1, W_mask="none")
    params = net.init_params(0)._replace(W=np.ones((8, 8)))
    with pytest.raises(ValueError, match=r"64 non-zero entries.*and 59 more"):
        net.check_params(params)
