"""Bad input, everywhere: every public function, the command line and the file formats either work or raise
a ``ValueError``, ``TypeError`` or ``FileNotFoundError`` whose message names the argument (or the file and
the key) and shows the value received. The command line exits with that message instead of a traceback.

Each row of :data:`CASES` is ``(id, call, error, fragments)``: ``call(ctx)`` makes one bad call, ``error`` is
the exception expected, and every string of ``fragments`` must appear in its message (the argument's name and
the value as shown). Rows whose ``error`` is None must work. The property tests at the end draw the bad values.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import odesnn
from odesnn import LIF, NIF, QIF, Gate, Network, Params, QuadraticCost, Signal, Threshold
from odesnn._checks import is_real
from odesnn.analysis import (
    compare_weights,
    current_decomposition,
    firing_rates,
    isi_stats,
    perturbation_growth,
    predicted_fast_weights,
    spike_gradient_contributions,
    spike_time_errors,
    spike_time_precision,
    synaptic_charge,
)
from odesnn.models import FirstSpikeCost
from odesnn.tasks import SinusoidTask, XORTask, autoencoder, evaluate, pick_runs, predictive, reproduce, xor
from odesnn.training import TrainConfig, average_runs, default_config, load_run, map_jobs, train


class Ctx:
    """Good inputs to spoil, built once and only when a case needs them."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.n = 0

    @cached_property
    def net(self):
        return Network(3, 1, 1, neuron=NIF(), gate=Gate("smooth", 0.1), tau=10.0)

    @cached_property
    def params(self):
        return self.net.init_params(0)._replace(I0=np.array([0.3, 0.2, 0.1]))

    @cached_property
    def problem(self):
        return odesnn.make_problem(self.net, self.params, None, None, (0.0, 20.0))

    @cached_property
    def sol(self):
        return odesnn.simulate(self.net, self.params, t_span=(0.0, 20.0), rtol=1e-8, atol=1e-10)

    def fresh(self, name):
        self.n += 1
        path = self.tmp / f"{name}{self.n}"
        path.mkdir()
        return path

    @cached_property
    def saved(self):
        path = self.tmp / "saved"
        odesnn.save(path, self.net, self.params)
        return path

    def network_dir(self, config=None, params_bytes=None, arrays=None):
        """A copy of the saved network with ``config.json`` replaced by ``config(cfg)`` (a dict, or raw text),
        ``params.npz`` by raw bytes or by other arrays."""
        path = self.fresh("net")
        for name in ("config.json", "params.npz"):
            shutil.copy(self.saved / name, path / name)
        if config is not None:
            cfg = config(json.loads((path / "config.json").read_text()))
            (path / "config.json").write_text(cfg if isinstance(cfg, str) else json.dumps(cfg))
        if params_bytes is not None:
            (path / "params.npz").write_bytes(params_bytes(self.saved / "params.npz"))
        if arrays is not None:
            np.savez(path / "params.npz", **arrays(dict(self.params._asdict())))
        return path

    @cached_property
    def run(self):
        """A run directory: the quick auto-encoder's untrained network (steps=0 trains nothing)."""
        path = self.tmp / "run"
        train(default_config("autoencoder", quick=True, steps=0), path, progress=False, log=lambda *_: None)
        return path

    def run_with(self, train_config=None, params_bytes=None):
        path = self.fresh("run")
        for item in self.run.iterdir():
            if item.is_file():
                shutil.copy(item, path / item.name)
        if train_config is not None:
            cfg = train_config(json.loads((path / "train_config.json").read_text()))
            (path / "train_config.json").write_text(cfg if isinstance(cfg, str) else json.dumps(cfg))
        if params_bytes is not None:
            (path / "params.npz").write_bytes(params_bytes(path / "params.npz"))
        return path

    def config_file(self, content):
        path = self.fresh("cfg") / "config.json"
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(path)


@dataclass(frozen=True)
class NoThresholds(odesnn.NeuronModel):
    def f(self, v, I):  # noqa: E741
        return I + 0.0 * v


@dataclass(frozen=True)
class NoField(odesnn.NeuronModel):
    @property
    def thresholds(self):
        return (Threshold(1.0),)


@dataclass(frozen=True)
class FloatThresholds(NoThresholds):
    @property
    def thresholds(self):
        return (1.0,)


@dataclass(frozen=True)
class ScalarField(odesnn.NeuronModel):
    @property
    def thresholds(self):
        return (Threshold(1.0),)

    def f(self, v, I):  # noqa: E741
        return 1.0


def _garbage(path):
    return b"this is not a zip archive\n" * 4


def _truncated(path):
    data = path.read_bytes()
    return data[: len(data) // 2]


def _npy(path):
    import io

    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    return buf.getvalue()


def _rng():
    return np.random.default_rng(0)


def _run_cli(argv):
    from odesnn import cli

    return cli.main(argv)


def _cfg(**changes):
    def change(cfg):
        cfg = dict(cfg)
        for key, value in changes.items():
            if value is _DROP:
                cfg.pop(key)
            else:
                cfg[key] = value
        return cfg

    return change


_DROP = object()
NAN, INF = float("nan"), float("inf")
V, T, F = ValueError, TypeError, FileNotFoundError

CASES = [
    # -- Network -------------------------------------------------------------------------------------------------
    ("Network n_neurons=0", lambda c: Network(0), V, ["n_neurons", "0"]),
    ("Network n_neurons=4.7", lambda c: Network(4.7), V, ["n_neurons", "4.7"]),
    ("Network n_neurons='4'", lambda c: Network("4"), V, ["n_neurons", "'4'"]),
    ("Network n_neurons=True", lambda c: Network(True), V, ["n_neurons", "True"]),
    ("Network n_inputs=-1", lambda c: Network(3, -1), V, ["n_inputs", "-1"]),
    ("Network n_outputs=1.5", lambda c: Network(3, 1, 1.5), V, ["n_outputs", "1.5"]),
    ("Network tau='ten'", lambda c: Network(3, tau="ten"), V, ["`tau`", "'ten'"]),
    ("Network tau=0", lambda c: Network(3, tau=0.0), V, ["`tau`", "0.0"]),
    ("Network tau=nan", lambda c: Network(3, tau=NAN), V, ["`tau`", "nan"]),
    ("Network tau=inf", lambda c: Network(3, tau=INF), V, ["`tau`", "inf"]),
    ("Network tau_f='1'", lambda c: Network(3, tau_f="1"), V, ["`tau_f`", "'1'"]),
    ("Network tau_f=-1", lambda c: Network(3, tau_f=-1.0), V, ["`tau_f`", "-1.0"]),
    ("Network neuron='nif'", lambda c: Network(3, neuron="nif"), T, ["neuron", "str"]),
    ("Network neuron=NIF (the class)", lambda c: Network(3, neuron=NIF), T, ["neuron", "type"]),
    ("Network gate=0.1", lambda c: Network(3, gate=0.1), T, ["gate", "float"]),
    ("Network cost='quadratic'", lambda c: Network(3, cost="quadratic"), T, ["cost", "str"]),
    ("Network W_mask='upper'", lambda c: Network(3, W_mask="upper"), V, ["W_mask", "'upper'"]),
    ("Network Wf_mask=None", lambda c: Network(3, Wf_mask=None), V, ["Wf_mask", "None"]),
    ("Network W_mask=['full']", lambda c: Network(3, W_mask=["full"]), V, ["W_mask", "['full']"]),
    ("Network gate zone holds the reset", lambda c: Network(3, gate=Gate("box", 1.5)), V, ["width", "1.5", "reset"]),
    ("NeuronModel without thresholds", lambda c: Network(3, neuron=NoThresholds()), T,
     ["neuron", "NoThresholds", "thresholds"]),
    ("NeuronModel without f", lambda c: Network(3, neuron=NoField()), T, ["neuron", "NoField", "f(v, I)"]),
    ("NeuronModel thresholds of floats", lambda c: Network(3, neuron=FloatThresholds()), T,
     ["FloatThresholds.thresholds", "(1.0,)"]),
    ("NeuronModel f of the wrong shape", lambda c: Network(3, neuron=ScalarField()), T, ["ScalarField.f", "shape ()"]),
    ("Network of 10**7 neurons, init_params", lambda c: Network(10**7).init_params(0), V,
     ["`n_neurons`=10000000", "PiB", "available"]),
    ("Network numpy sizes work", lambda c: Network(np.int64(3), np.int32(1), np.int16(1), tau=np.float32(10)),
     None, []),
    # -- Network.init_params ----------------------------------------------------------------------------------------
    ("init_params w_scale='0.5'", lambda c: c.net.init_params(w_scale="0.5"), V, ["w_scale", "'0.5'"]),
    ("init_params w_scale=nan", lambda c: c.net.init_params(w_scale=NAN), V, ["w_scale", "nan"]),
    ("init_params w_scale=inf", lambda c: c.net.init_params(w_scale=INF), V, ["w_scale", "inf"]),
    ("init_params w_scale=-1", lambda c: c.net.init_params(w_scale=-1.0), V, ["w_scale", "-1.0"]),
    ("init_params wf_scale='x'", lambda c: c.net.init_params(wf_scale="x"), V, ["wf_scale", "'x'"]),
    ("init_params u_scale=None", lambda c: c.net.init_params(u_scale=None), V, ["u_scale", "None"]),
    ("init_params o_scale=[1]", lambda c: c.net.init_params(o_scale=[1.0]), V, ["o_scale", "[1.0]"]),
    ("init_params i0_scale=-0.1", lambda c: c.net.init_params(i0_scale=-0.1), V, ["i0_scale", "-0.1"]),
    ("init_params i0_mean='0'", lambda c: c.net.init_params(i0_mean="0"), T, ["i0_mean", "'0'"]),
    ("init_params i0_mean=nan", lambda c: c.net.init_params(i0_mean=NAN), V, ["i0_mean", "nan"]),
    ("init_params seed=-1", lambda c: c.net.init_params(seed=-1), V, ["seed", "-1"]),
    ("init_params seed=1.5", lambda c: c.net.init_params(seed=1.5), V, ["seed", "1.5"]),
    ("init_params seed='0'", lambda c: c.net.init_params(seed="0"), V, ["seed", "'0'"]),
    ("init_params u_sphere='yes'", lambda c: c.net.init_params(u_sphere="yes"), T, ["u_sphere", "'yes'"]),
    ("init_params w_self='1.5'", lambda c: c.net.init_params(w_self="1.5"), T, ["w_self", "'1.5'"]),
    ("init_params w_self_fraction=2", lambda c: c.net.init_params(w_self=1.0, w_self_fraction=2.0), V,
     ["w_self_fraction", "2.0"]),
    ("init_params numpy seed works", lambda c: c.net.init_params(seed=np.int64(4), w_scale=np.float32(0.3)),
     None, []),
    # -- Gate, neuron models, Threshold, costs ---------------------------------------------------------------------
    ("Gate kind='triangle'", lambda c: Gate("triangle"), V, ["kind", "'triangle'"]),
    ("Gate kind=3", lambda c: Gate(3), V, ["kind", "3"]),
    ("Gate kind=['box']", lambda c: Gate(["box"]), V, ["kind", "['box']"]),
    ("Gate width='0.1'", lambda c: Gate("box", "0.1"), V, ["width", "'0.1'"]),
    ("Gate width=0", lambda c: Gate("box", 0.0), V, ["width", "0.0", "gate=None"]),
    ("Gate width=-0.1", lambda c: Gate("box", -0.1), V, ["width", "-0.1"]),
    ("Gate width=nan", lambda c: Gate("box", NAN), V, ["width", "nan"]),
    ("Gate width=None", lambda c: Gate("box", None), V, ["width", "None"]),
    ("NIF theta='1'", lambda c: NIF(theta="1"), V, ["theta", "'1'"]),
    ("NIF theta=0", lambda c: NIF(theta=0), V, ["theta", "0"]),
    ("NIF negative_synapse='no'", lambda c: NIF(negative_synapse="no"), T, ["negative_synapse", "'no'"]),
    ("QIF tau_v='25'", lambda c: QIF(tau_v="25"), V, ["tau_v", "'25'"]),
    ("QIF tau_v=-25", lambda c: QIF(tau_v=-25.0), V, ["tau_v", "-25.0"]),
    ("LIF tau_m=0", lambda c: LIF(tau_m=0.0), V, ["tau_m", "0.0"]),
    ("LIF tau_m='10'", lambda c: LIF(tau_m="10"), V, ["tau_m", "'10'"]),
    ("LIF tau_m=inf", lambda c: LIF(tau_m=INF), V, ["tau_m", "inf"]),
    ("Threshold value='1'", lambda c: Threshold("1"), T, ["value", "'1'"]),
    ("Threshold value=nan", lambda c: Threshold(NAN), V, ["value", "nan"]),
    ("Threshold reset=inf", lambda c: Threshold(1.0, 1, INF), V, ["reset", "inf"]),
    ("Threshold direction=0", lambda c: Threshold(1.0, 0), V, ["direction", "0"]),
    ("Threshold direction=True", lambda c: Threshold(1.0, True), V, ["direction", "True"]),
    ("Threshold synaptic='yes'", lambda c: Threshold(1.0, 1, 0.0, "yes"), T, ["synaptic", "'yes'"]),
    ("Threshold reset past the threshold", lambda c: Threshold(1.0, 1, 2.0), V, ["reset", "2.0", "value"]),
    ("QuadraticCost lam='0.1'", lambda c: QuadraticCost("0.1"), V, ["lam", "'0.1'"]),
    ("QuadraticCost lam=-1", lambda c: QuadraticCost(-1.0), V, ["lam", "-1.0"]),
    ("QuadraticCost lam=nan", lambda c: QuadraticCost(NAN), V, ["lam", "nan"]),
    ("FirstSpikeCost targets='abc'", lambda c: FirstSpikeCost("abc"), V, ["targets", "'abc'"]),
    ("FirstSpikeCost weight='1'", lambda c: FirstSpikeCost((5.0,), "1"), V, ["weight", "'1'"]),
    ("FirstSpikeCost weight=0", lambda c: FirstSpikeCost((5.0,), 0.0), V, ["weight", "0.0"]),
    ("FirstSpikeCost direction=2", lambda c: FirstSpikeCost((5.0,), 1.0, 2), V, ["direction", "2"]),
    # -- Signal --------------------------------------------------------------------------------------------------
    ("Signal.sampled t of strings", lambda c: Signal.sampled(["a", "b"], [0.0, 1.0]), T, ["`t`", "'a'"]),
    ("Signal.sampled values of strings", lambda c: Signal.sampled([0.0, 1.0], "ab"), T, ["`values`", "'ab'"]),
    ("Signal.sampled t decreasing", lambda c: Signal.sampled([1.0, 0.0], [0.0, 1.0]), V, ["`t`", "increasing"]),
    ("Signal.sampled kind='cubic'", lambda c: Signal.sampled([0.0, 1.0], [0.0, 1.0], "cubic"), V,
     ["kind", "'cubic'"]),
    ("Signal.sampled values nan", lambda c: Signal.sampled([0.0, 1.0], [0.0, NAN]), V, ["values", "finite"]),
    ("Signal.from_callable fn=3", lambda c: Signal.from_callable(3, 1), T, ["fn", "int"]),
    ("Signal.from_callable n_channels='two'", lambda c: Signal.from_callable(np.sin, "two"), V,
     ["n_channels", "'two'"]),
    ("Signal.zeros n_channels=-1", lambda c: Signal.zeros(-1), V, ["n_channels", "-1"]),
    # -- odesnn.simulate -----------------------------------------------------------------------------------------
    ("simulate net=None", lambda c: odesnn.simulate(None, c.params, t_span=(0, 1.0)), T, ["net", "NoneType"]),
    ("simulate params=None", lambda c: odesnn.simulate(c.net, None, t_span=(0, 1.0)), T, ["params", "NoneType"]),
    ("simulate params.W wrong shape", lambda c: odesnn.simulate(c.net, c.params._replace(W=np.zeros((2, 3))),
                                                                  t_span=(0, 1.0)), V,
     ["params.W", "(3, 3)", "(2, 3)"]),
    ("simulate params.U nan", lambda c: odesnn.simulate(c.net, c.params._replace(U=np.full((3, 1), NAN)),
                                                          t_span=(0, 1.0)), V, ["params.U", "non-finite"]),
    ("simulate params.I0 strings", lambda c: odesnn.simulate(c.net, c.params._replace(I0="abc"), t_span=(0, 1.0)),
     T, ["params.I0", "'abc'"]),
    ("simulate params.O list of strings", lambda c: odesnn.simulate(c.net, c.params._replace(O=[["a", "b", "c"]]),
                                                                      t_span=(0, 1.0)), T, ["params.O"]),
    ("simulate params dict missing I0", lambda c: odesnn.simulate(
        c.net, {k: v for k, v in c.params._asdict().items() if k != "I0"}, t_span=(0, 1.0)), V,
     ["params", "missing ['I0']"]),
    ("simulate params masked entry", lambda c: odesnn.simulate(
        Network(3, 1, 1, tau_f=1.0), Network(3, 1, 1, tau_f=1.0).init_params(0)._replace(Wf=np.ones((3, 3))),
        t_span=(0, 1.0)), V, ["params.Wf", "Wf_mask", "'zero_diag'", "(0, 0) = 1"]),
    ("simulate t_span=None", lambda c: odesnn.simulate(c.net, c.params), V, ["t_span", "required"]),
    ("simulate t_span='ab'", lambda c: odesnn.simulate(c.net, c.params, t_span="ab"), V, ["t_span", "'ab'"]),
    ("simulate t_span=(0, nan)", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, NAN)), V, ["t_span", "nan"]),
    ("simulate t_span=(5, 1)", lambda c: odesnn.simulate(c.net, c.params, t_span=(5, 1)), V,
     ["t_span", "t0=5.0", "t1=1.0"]),
    ("simulate v0 wrong shape", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), v0=np.zeros(4)), V,
     ["v0", "(3,)", "(4,)"]),
    ("simulate v0 strings", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), v0=["a", "b", "c"]), T,
     ["v0", "'a'"]),
    ("simulate v0 above threshold", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), v0=[0, 1.5, 0]),
     V, ["v0", "threshold", "[1]"]),
    ("simulate s0 nan", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), s0=[0, NAN, 0]), V,
     ["s0", "non-finite"]),
    ("simulate inputs='abc'", lambda c: odesnn.simulate(c.net, c.params, "abc", t_span=(0, 1.0)), T,
     ["inputs", "'abc'"]),
    ("simulate inputs callable of wrong shape", lambda c: odesnn.simulate(c.net, c.params, lambda t: np.zeros(2),
                                                                            t_span=(0, 1.0)), V,
     ["inputs", "(1,)", "(2,)"]),
    ("simulate inputs callable that fails", lambda c: odesnn.simulate(c.net, c.params, lambda t: 1 / 0,
                                                                        t_span=(0, 1.0)), T,
     ["inputs", "ZeroDivisionError"]),
    ("simulate inputs (t, values) of strings", lambda c: odesnn.simulate(c.net, c.params, (["a"], [1.0]),
                                                                           t_span=(0, 1.0)), T,
     ["inputs", "`t`", "'a'"]),
    ("simulate target channels", lambda c: odesnn.simulate(c.net, c.params, None, np.zeros(3), t_span=(0, 1.0)), T,
     ["target", "(1,)"]),
    ("simulate rtol='1e-6'", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), rtol="1e-6"), V,
     ["rtol", "'1e-6'"]),
    ("simulate rtol=True", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), rtol=True), V,
     ["rtol", "True"]),
    ("simulate rtol=-1", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), rtol=-1.0), V, ["rtol", "-1.0"]),
    ("simulate atol=0", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), atol=0.0), V, ["atol", "0.0"]),
    ("simulate method='Euler'", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), method="Euler"), V,
     ["method", "'Euler'"]),
    ("simulate method=5", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), method=5), V, ["method", "5"]),
    ("simulate max_steps=0", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), max_steps=0), V,
     ["max_steps", "0"]),
    ("simulate max_steps='10'", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), max_steps="10"), V,
     ["max_steps", "'10'"]),
    ("simulate max_steps=2.5", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), max_steps=2.5), V,
     ["max_steps", "2.5"]),
    ("simulate max_events=-1", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), max_events=-1), V,
     ["max_events", "-1"]),
    ("simulate max_step=0", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), max_step=0), V,
     ["max_step", "0"]),
    ("simulate max_step='1'", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), max_step="1"), V,
     ["max_step", "'1'"]),
    ("simulate max_rate=0", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), max_rate=0), V,
     ["max_rate", "0"]),
    ("simulate max_rate='fast'", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), max_rate="fast"), V,
     ["max_rate", "'fast'"]),
    ("simulate throw='no'", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), throw="no"), T,
     ["throw", "'no'"]),
    ("simulate t_eval of strings", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), t_eval=["a"]), T,
     ["t_eval", "'a'"]),
    ("simulate t_eval outside t_span", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), t_eval=[0.5, 2]),
     V, ["t_eval", "t_span"]),
    ("simulate backend='torch'", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), backend="torch"), V,
     ["backend", "'torch'"]),
    ("simulate unknown option", lambda c: odesnn.simulate(c.net, c.params, t_span=(0, 1.0), foo=1), T, ["'foo'"]),
    ("simulate numpy options work", lambda c: odesnn.simulate(c.net, c.params, t_span=(np.float32(0), np.int64(1)),
                                                                max_steps=np.int64(100), rtol=np.float32(1e-6)),
     None, []),
    # -- odesnn.gradient -----------------------------------------------------------------------------------------
    ("gradient method='bptt'", lambda c: odesnn.gradient(c.net, c.params, t_span=(0, 1.0), method="bptt"), V,
     ["method", "'bptt'"]),
    ("gradient method=None", lambda c: odesnn.gradient(c.net, c.params, t_span=(0, 1.0), method=None), V,
     ["method", "None"]),
    ("gradient fd_step='1e-5'", lambda c: odesnn.gradient(c.net, c.params, t_span=(0, 1.0), method="fd",
                                                          fd_step="1e-5"), V, ["fd_step", "'1e-5'"]),
    ("gradient fd_step=0", lambda c: odesnn.gradient(c.net, c.params, t_span=(0, 1.0), method="fd", fd_step=0.0),
     V, ["fd_step", "0.0"]),
    ("gradient adjoint_horizon=-1", lambda c: odesnn.gradient(c.net, c.params, t_span=(0, 1.0),
                                                              adjoint_horizon=-1.0), V, ["adjoint_horizon", "-1.0"]),
    ("gradient rtol='tight'", lambda c: odesnn.gradient(c.net, c.params, t_span=(0, 1.0), rtol="tight"), V,
     ["rtol", "'tight'"]),
    ("gradient max_rate with forward sensitivity", lambda c: odesnn.gradient(c.net, c.params, t_span=(0, 1.0),
                                                                             method="forward", max_rate=1e4), T,
     ["'max_rate'"]),
    ("gradient forward sensitivity of a huge network", lambda c: odesnn.gradient(
        Network(3000), Params(np.zeros((3000, 3000)), np.zeros((3000, 0)), np.zeros((3000, 1)), np.zeros((1, 3000)),
                              np.zeros(3000)), t_span=(0, 1.0), method="forward"), V,
     ["`n_neurons`=3000", "forward sensitivity", "available"]),
    # -- save and load ------------------------------------------------------------------------------------------
    ("save net='net'", lambda c: odesnn.save(c.fresh("s"), "net", c.params), T, ["net", "str"]),
    ("save params of the wrong shape", lambda c: odesnn.save(c.fresh("s"), c.net, c.params._replace(I0=np.zeros(2))),
     V, ["params.I0", "(3,)"]),
    ("save extra_config='x'", lambda c: odesnn.save(c.fresh("s"), c.net, c.params, extra_config="x"), T,
     ["extra_config", "'x'"]),
    ("load a missing directory", lambda c: odesnn.load(c.tmp / "nowhere"), F, ["nowhere", "config.json"]),
    ("load without params.npz", lambda c: odesnn.load(c.fresh("empty")), F, ["directory", "config.json"]),
    ("config.json not JSON", lambda c: odesnn.load(c.network_dir(lambda cfg: "{'n_neurons': 3")), V,
     ["config.json", "not valid JSON", "line 1"]),
    ("config.json a list", lambda c: odesnn.load(c.network_dir(lambda cfg: [1, 2])), V, ["config.json", "[1, 2]"]),
    ("config.json without n_neurons", lambda c: odesnn.load(c.network_dir(_cfg(n_neurons=_DROP))), V,
     ["config.json", "lacks `n_neurons`"]),
    ("config.json without tau and gate", lambda c: odesnn.load(c.network_dir(_cfg(tau=_DROP, gate=_DROP))), V,
     ["config.json", "`gate`", "`tau`"]),
    ("config.json n_neurons=4.7", lambda c: odesnn.load(c.network_dir(_cfg(n_neurons=4.7))), V,
     ["config.json", "n_neurons", "4.7"]),
    ("config.json n_neurons='3'", lambda c: odesnn.load(c.network_dir(_cfg(n_neurons="3"))), V,
     ["config.json", "n_neurons", "'3'"]),
    ("config.json n_inputs=-2", lambda c: odesnn.load(c.network_dir(_cfg(n_inputs=-2))), V,
     ["config.json", "n_inputs", "-2"]),
    ("config.json tau='ten'", lambda c: odesnn.load(c.network_dir(_cfg(tau="ten"))), V,
     ["config.json", "`tau`", "'ten'"]),
    ("config.json tau_f=[1]", lambda c: odesnn.load(c.network_dir(_cfg(tau_f=[1.0]))), V,
     ["config.json", "`tau_f`", "[1.0]"]),
    ("config.json neuron='nif'", lambda c: odesnn.load(c.network_dir(_cfg(neuron="nif"))), T,
     ["config.json", "neuron", "'nif'"]),
    ("config.json neuron name unknown", lambda c: odesnn.load(c.network_dir(_cfg(neuron={"name": "hh"}))), V,
     ["config.json", "name", "'hh'"]),
    ("config.json neuron with an unknown parameter", lambda c: odesnn.load(
        c.network_dir(_cfg(neuron={"name": "nif", "theta": 1.0, "gain": 2}))), V, ["config.json", "'gain'"]),
    ("config.json neuron theta='1'", lambda c: odesnn.load(c.network_dir(_cfg(neuron={"name": "nif",
                                                                                      "theta": "1"}))), V,
     ["config.json", "theta", "'1'"]),
    ("config.json gate a list", lambda c: odesnn.load(c.network_dir(_cfg(gate=["smooth", 0.1]))), V,
     ["config.json", "gate", "['smooth', 0.1]"]),
    ("config.json gate without width", lambda c: odesnn.load(c.network_dir(_cfg(gate={"kind": "smooth"}))), V,
     ["config.json", "gate", "{'kind': 'smooth'}"]),
    ("config.json gate width='0.1'", lambda c: odesnn.load(c.network_dir(_cfg(gate={"kind": "smooth",
                                                                                    "width": "0.1"}))), V,
     ["config.json", "width", "'0.1'"]),
    ("config.json cost='quadratic'", lambda c: odesnn.load(c.network_dir(_cfg(cost="quadratic"))), T,
     ["config.json", "cost", "'quadratic'"]),
    ("config.json cost lam='x'", lambda c: odesnn.load(c.network_dir(_cfg(cost={"name": "quadratic", "lam": "x"}))),
     V, ["config.json", "lam", "'x'"]),
    ("config.json W_mask='upper'", lambda c: odesnn.load(c.network_dir(_cfg(W_mask="upper"))), V,
     ["config.json", "W_mask", "'upper'"]),
    ("params.npz not a zip", lambda c: odesnn.load(c.network_dir(params_bytes=_garbage)), V,
     ["params.npz", "cannot be read"]),
    ("params.npz truncated", lambda c: odesnn.load(c.network_dir(params_bytes=_truncated)), V,
     ["params.npz", "cannot be read"]),
    ("params.npz a single .npy array", lambda c: odesnn.load(c.network_dir(params_bytes=_npy)), V,
     ["params.npz", "single array"]),
    ("params.npz without I0", lambda c: odesnn.load(c.network_dir(arrays=lambda a: {k: v for k, v in a.items()
                                                                                    if k != "I0"})), V,
     ["params.npz", "no arrays ['I0']"]),
    ("params.npz W of the wrong shape", lambda c: odesnn.load(c.network_dir(arrays=lambda a: {**a, "W": np.zeros(3)})),
     V, ["params.npz", "params.W", "(3, 3)"]),
    ("params.npz with a masked entry", lambda c: odesnn.load(c.network_dir(
        config=_cfg(W_mask="zero_diag"), arrays=lambda a: {**a, "W": np.ones((3, 3))})), V,
     ["params.npz", "params.W", "W_mask", "(0, 0) = 1"]),
    # -- the JAX backend -----------------------------------------------------------------------------------------
    ("jax Options rtol='1e-6'", lambda c: _jax().Options(rtol="1e-6"), V, ["rtol", "'1e-6'"]),
    ("jax Options rtol=inf", lambda c: _jax().Options(rtol=INF), V, ["rtol", "inf"]),
    ("jax Options atol=True", lambda c: _jax().Options(atol=True), V, ["atol", "True"]),
    ("jax Options max_steps=0", lambda c: _jax().Options(max_steps=0), V, ["max_steps", "0"]),
    ("jax Options max_steps='10'", lambda c: _jax().Options(max_steps="10"), V, ["max_steps", "'10'"]),
    ("jax Options max_spikes=1.5", lambda c: _jax().Options(max_spikes=1.5), V, ["max_spikes", "1.5"]),
    ("jax Options checkpoint_every=True", lambda c: _jax().Options(checkpoint_every=True), V,
     ["checkpoint_every", "True"]),
    ("jax Options n_samples=-1", lambda c: _jax().Options(n_samples=-1), V, ["n_samples", "-1"]),
    ("jax Options dt0=0", lambda c: _jax().Options(dt0=0.0), V, ["dt0", "0.0"]),
    ("jax Options dtmax='1'", lambda c: _jax().Options(dtmax="1"), V, ["dtmax", "'1'"]),
    ("jax Options solver='euler'", lambda c: _jax().Options(solver="euler"), V, ["solver", "'euler'"]),
    ("jax Options dtype='float16'", lambda c: _jax().Options(dtype="float16"), V, ["dtype", "'float16'"]),
    ("jax Options max_rate=-5", lambda c: _jax().Options(max_rate=-5), V, ["max_rate", "-5"]),
    ("jax Options adjoint_horizon=0", lambda c: _jax().Options(adjoint_horizon=0), V, ["adjoint_horizon", "0"]),
    ("jax Options unknown option", lambda c: _jax().simulate(c.problem, tolerance=1e-3), T, ["'tolerance'"]),
    ("jax Options numpy integers work", lambda c: _jax().Options(max_steps=np.int64(100), n_samples=np.int32(2)),
     None, []),
    ("jax make_batch t_grid of strings", lambda c: _jax().make_batch(c.net, ["a", "b"], t_span=(0, 1)), T,
     ["t_grid", "'a'"]),
    ("jax make_batch t_grid decreasing", lambda c: _jax().make_batch(c.net, [1.0, 0.0], t_span=(0, 1)), V,
     ["t_grid", "increasing"]),
    ("jax make_batch inputs of the wrong shape", lambda c: _jax().make_batch(c.net, [0.0, 1.0], np.zeros((2, 2, 2)),
                                                                             t_span=(0, 1)), V,
     ["inputs", "(2, 2, 1)"]),
    ("jax make_batch batch_size=0", lambda c: _jax().make_batch(c.net, [0.0, 1.0], t_span=(0, 1), batch_size=0), V,
     ["batch_size", "0"]),
    ("jax make_batch t_span=None", lambda c: _jax().make_batch(c.net, [0.0, 1.0]), V, ["t_span", "required"]),
    ("jax make_batch t_span=(1, 0)", lambda c: _jax().make_batch(c.net, [0.0, 1.0], t_span=(1, 0)), V,
     ["t_span", "t0=1.0", "t1=0.0"]),
    ("jax make_batch v0 nan", lambda c: _jax().make_batch(c.net, [0.0, 1.0], t_span=(0, 1), v0=np.full((1, 3), NAN)),
     V, ["v0", "non-finite"]),
    ("jax make_batch net='net'", lambda c: _jax().make_batch("net", [0.0, 1.0], t_span=(0, 1)), T, ["net", "str"]),
    ("jax simulate throw='no'", lambda c: _jax().simulate(c.problem, throw="no"), T, ["throw", "'no'"]),
    ("jax simulate of a string", lambda c: _jax().simulate("problem"), T, ["problem_or_batch", "'problem'"]),
    ("jax simulate t_eval outside t_span", lambda c: _jax().simulate(c.problem, t_eval=[0.0, 50.0]), V,
     ["t_eval", "t_span"]),
    ("jax value_and_grad loss='mean'", lambda c: _jax().value_and_grad(c.params, c.problem, loss="mean"), T,
     ["loss", "'mean'"]),
    # -- training ------------------------------------------------------------------------------------------------
    ("TrainConfig n_neurons=4.7", lambda c: TrainConfig(n_neurons=4.7), V, ["n_neurons", "4.7"]),
    ("TrainConfig n_neurons='30'", lambda c: TrainConfig(n_neurons="30"), V, ["n_neurons", "'30'"]),
    ("TrainConfig steps=-1", lambda c: TrainConfig(steps=-1), V, ["steps", "-1"]),
    ("TrainConfig batch_size=0", lambda c: TrainConfig(batch_size=0), V, ["batch_size", "0"]),
    ("TrainConfig lr='0.01'", lambda c: TrainConfig(lr="0.01"), V, ["lr", "'0.01'"]),
    ("TrainConfig lr=nan", lambda c: TrainConfig(lr=NAN), V, ["lr", "nan"]),
    ("TrainConfig duration=0", lambda c: TrainConfig(duration=0.0), V, ["duration", "0.0"]),
    ("TrainConfig seed=-1", lambda c: TrainConfig(seed=-1), V, ["seed", "-1"]),
    ("TrainConfig tau_f='x'", lambda c: TrainConfig(tau_f="x"), V, ["tau_f", "'x'"]),
    ("TrainConfig gate=5", lambda c: TrainConfig(gate=5), V, ["gate", "5"]),
    ("TrainConfig W_mask='upper'", lambda c: TrainConfig(W_mask="upper"), V, ["W_mask", "'upper'"]),
    ("TrainConfig train='W'", lambda c: TrainConfig(train="W"), V, ["train", "'W'"]),
    ("TrainConfig train=['V']", lambda c: TrainConfig(train=["V"]), V, ["train", "'V'"]),
    ("TrainConfig task='mnist'", lambda c: TrainConfig(task="mnist"), V, ["task", "'mnist'"]),
    ("TrainConfig task=None", lambda c: TrainConfig(task=None), V, ["task", "None"]),
    ("TrainConfig neuron='lif'", lambda c: TrainConfig(neuron="lif"), V, ["neuron", "'lif'"]),
    ("TrainConfig init='big'", lambda c: TrainConfig(init="big"), V, ["init", "'big'"]),
    ("TrainConfig init w_scale='big'", lambda c: TrainConfig(init={"w_scale": "big"}), V,
     ["init", "w_scale", "'big'"]),
    ("TrainConfig init w_scale=nan", lambda c: TrainConfig(init={"w_scale": NAN}), V, ["init", "w_scale", "nan"]),
    ("TrainConfig init with an unknown key", lambda c: TrainConfig(init={"bogus": 1}), V, ["init", "'bogus'"]),
    ("TrainConfig task_kwargs period=-5", lambda c: TrainConfig(task_kwargs={"period": -5.0}), V,
     ["autoencoder task", "task_kwargs", "period", "-5.0"]),
    ("TrainConfig task_kwargs with an unknown key", lambda c: TrainConfig(task_kwargs={"bogus": 1}), T,
     ["task_kwargs", "'bogus'"]),
    ("TrainConfig task_kwargs='x'", lambda c: TrainConfig(task_kwargs="x"), V, ["task_kwargs", "'x'"]),
    ("TrainConfig optimizer='rmsprop'", lambda c: TrainConfig(optimizer="rmsprop"), V, ["optimizer", "'rmsprop'"]),
    ("TrainConfig lr_scale names V", lambda c: TrainConfig(lr_scale={"V": 1.0}), V, ["lr_scale", "'V'"]),
    ("TrainConfig adjoint_horizon=0", lambda c: TrainConfig(adjoint_horizon=0), V, ["adjoint_horizon", "0"]),
    ("TrainConfig.from_dict of a list", lambda c: TrainConfig.from_dict([1, 2]), V, ["JSON object", "[1, 2]"]),
    ("TrainConfig.from_dict unknown key", lambda c: TrainConfig.from_dict({"bogus": 1}), V, ["'bogus'"]),
    ("default_config task='mnist'", lambda c: default_config("mnist"), V, ["task", "'mnist'"]),
    ("default_config quick='no'", lambda c: default_config("xor", quick="no"), T, ["quick", "'no'"]),
    ("default_config unknown override", lambda c: default_config("xor", bogus=1), T, ["bogus"]),
    ("train cfg a dict", lambda c: train({"task": "xor"}, c.fresh("t")), T, ["cfg", "dict"]),
    ("train out=5", lambda c: train(default_config("xor", quick=True), 5), T, ["out", "5"]),
    ("train resume='no'", lambda c: train(default_config("xor", quick=True), c.fresh("t"), resume="no"), T,
     ["resume", "'no'"]),
    ("train progress='no'", lambda c: train(default_config("xor", quick=True), c.fresh("t"), progress="no"), T,
     ["progress", "'no'"]),
    ("train loss_and_grad='fn'", lambda c: train(default_config("xor", quick=True), c.fresh("t"),
                                                 loss_and_grad="fn"), T, ["loss_and_grad", "'fn'"]),
    ("train log=None", lambda c: train(default_config("xor", quick=True), c.fresh("t"), log=None), T,
     ["log", "None"]),
    ("load_run of a missing directory", lambda c: load_run(c.tmp / "nowhere"), F, ["out", "nowhere"]),
    ("load_run out=3", lambda c: load_run(3), T, ["out", "3"]),
    ("train_config.json not JSON", lambda c: load_run(c.run_with(train_config=lambda cfg: "{task: xor}")), V,
     ["train_config.json", "not valid JSON"]),
    ("train_config.json a list", lambda c: load_run(c.run_with(train_config=lambda cfg: [cfg])), V,
     ["train_config.json", "JSON object"]),
    ("train_config.json unknown key", lambda c: load_run(c.run_with(train_config=_cfg(bogus=1))), V,
     ["train_config.json", "'bogus'"]),
    ("train_config.json n_neurons=4.7", lambda c: load_run(c.run_with(train_config=_cfg(n_neurons=4.7))), V,
     ["train_config.json", "n_neurons", "4.7"]),
    ("train_config.json lr='fast'", lambda c: load_run(c.run_with(train_config=_cfg(lr="fast"))), V,
     ["train_config.json", "lr", "'fast'"]),
    ("run params.npz not a zip", lambda c: load_run(c.run_with(params_bytes=_garbage)), V,
     ["params.npz", "cannot be read"]),
    ("average_runs of one path string", lambda c: average_runs(str(c.run)), T, ["runs", "single path"]),
    ("average_runs of no runs", lambda c: average_runs([]), V, ["runs", "none"]),
    ("average_runs runs=[5]", lambda c: average_runs([5]), T, ["runs[0]", "5"]),
    ("average_runs runs=5", lambda c: average_runs(5), T, ["runs", "5"]),
    ("average_runs of a missing run", lambda c: average_runs([c.tmp / "nowhere"]), F, ["runs", "nowhere"]),
    # -- the tasks -----------------------------------------------------------------------------------------------
    ("autoencoder period=-5", lambda c: autoencoder(period=-5.0), V, ["period", "-5.0"]),
    ("autoencoder period='1200'", lambda c: autoencoder(period="1200"), V, ["period", "'1200'"]),
    ("autoencoder dt=0", lambda c: autoencoder(dt=0.0), V, ["dt", "0.0"]),
    ("autoencoder dt longer than duration", lambda c: autoencoder(dt=2000.0), V, ["dt", "2000.0", "duration"]),
    ("autoencoder n_modes=0", lambda c: autoencoder(n_modes=0), V, ["n_modes", "0"]),
    ("autoencoder n_modes=2.5", lambda c: autoencoder(n_modes=2.5), V, ["n_modes", "2.5"]),
    ("autoencoder amplitude=nan", lambda c: autoencoder(amplitude=NAN), V, ["amplitude", "nan"]),
    ("autoencoder tau=0", lambda c: autoencoder(tau=0.0), V, ["tau", "0.0"]),
    ("autoencoder n_channels=0", lambda c: autoencoder(n_channels=0), V, ["n_channels", "0"]),
    ("SinusoidTask A of the wrong shape", lambda c: SinusoidTask(A=((1.0,),)), V, ["A", "(2, 2)", "(1, 1)"]),
    ("predictive duration=-1", lambda c: predictive(duration=-1.0), V, ["duration", "-1.0"]),
    ("xor duration too short for the response", lambda c: xor(duration=50.0), V, ["duration", "50.0"]),
    ("xor p_single=1.5", lambda c: xor(p_single=1.5), V, ["p_single", "1.5"]),
    ("xor first_range=(100, 20)", lambda c: xor(first_range=(100.0, 20.0)), V, ["first_range", "(100.0, 20.0)"]),
    ("xor gap_range=5", lambda c: xor(gap_range=5.0), V, ["gap_range", "5.0"]),
    ("xor pulse_width=0", lambda c: xor(pulse_width=0.0), V, ["pulse_width", "0.0"]),
    ("xor threshold=-1", lambda c: xor(threshold=-1.0), V, ["threshold", "-1.0"]),
    ("xor response_window=0", lambda c: xor(response_window=0.0), V, ["response_window", "0.0"]),
    ("XORTask amplitude='1'", lambda c: XORTask(amplitude="1"), V, ["amplitude", "'1'"]),
    ("sample rng=0", lambda c: autoencoder().sample(0, 4), T, ["rng", "0"]),
    ("sample batch_size=0", lambda c: autoencoder().sample(_rng(), 0), V, ["batch_size", "0"]),
    ("sample batch_size=2.5", lambda c: xor().sample(_rng(), 2.5), V, ["batch_size", "2.5"]),
    ("sample batch_size=-1", lambda c: xor().sample(_rng(), -1), V, ["batch_size", "-1"]),
    ("xor ranges as JSON lists work", lambda c: xor(first_range=[20.0, 60.0]).sample(_rng(), 2), None, []),
    # -- evaluation, pick, reproduce -----------------------------------------------------------------------------
    ("evaluate n_trials=0", lambda c: evaluate(c.tmp / "any", n_trials=0), V, ["n_trials", "0"]),
    ("evaluate n_trials=-3", lambda c: evaluate(c.tmp / "any", n_trials=-3), V, ["n_trials", "-3"]),
    ("evaluate n_trials=2.5", lambda c: evaluate(c.tmp / "any", n_trials=2.5), V, ["n_trials", "2.5"]),
    ("evaluate duration=-5", lambda c: evaluate(c.tmp / "any", duration=-5.0), V, ["duration", "-5.0"]),
    ("evaluate duration='long'", lambda c: evaluate(c.tmp / "any", duration="long"), V, ["duration", "'long'"]),
    ("evaluate refit=0", lambda c: evaluate(c.tmp / "any", refit=0), V, ["refit", "0"]),
    ("evaluate seed=-1", lambda c: evaluate(c.tmp / "any", seed=-1), V, ["seed", "-1"]),
    ("evaluate width=0", lambda c: evaluate(c.tmp / "any", width=0.0), V, ["width", "0.0"]),
    ("evaluate figures='no'", lambda c: evaluate(c.tmp / "any", figures="no"), T, ["figures", "'no'"]),
    ("evaluate refit_window_weight=0", lambda c: evaluate(c.tmp / "any", refit=10, refit_window_weight=0.0), V,
     ["refit_window_weight", "0.0"]),
    ("evaluate a missing run", lambda c: evaluate(c.tmp / "nowhere"), F, ["out", "nowhere"]),
    ("evaluate a run with a longer duration than its task allows", lambda c: evaluate(c.run, duration=0.5), V,
     ["dt", "duration", "0.5"]),
    ("pick_runs of one path string", lambda c: pick_runs("some/run"), T, ["runs", "single path"]),
    ("pick_runs of no runs", lambda c: pick_runs([]), V, ["runs", "none"]),
    ("pick_runs seeds=13", lambda c: pick_runs(["a"], seeds=13), T, ["seeds", "13"]),
    ("pick_runs seeds=[-1]", lambda c: pick_runs(["a"], seeds=[-1]), V, ["seeds[0]", "-1"]),
    ("pick_runs top=0", lambda c: pick_runs(["a"], top=0), V, ["top", "0"]),
    ("pick_runs n_trials=0", lambda c: pick_runs(["a"], n_trials=0), V, ["n_trials", "0"]),
    ("pick_runs log='print'", lambda c: pick_runs(["a"], log="print"), T, ["log", "'print'"]),
    ("reproduce name='mnist'", lambda c: reproduce("mnist", c.fresh("r")), V, ["name", "'mnist'"]),
    ("reproduce name=None", lambda c: reproduce(None, c.fresh("r")), V, ["name", "None"]),
    ("reproduce quick='yes'", lambda c: reproduce("gate", c.fresh("r"), quick="yes"), T, ["quick", "'yes'"]),
    ("reproduce candidates=0", lambda c: reproduce("xor", c.fresh("r"), candidates=0), V, ["candidates", "0"]),
    ("reproduce candidates for the auto-encoder", lambda c: reproduce("autoencoder", c.fresh("r"), candidates=3), V,
     ["candidates", "3", "autoencoder"]),
    ("reproduce out=5", lambda c: reproduce("gate", 5), T, ["out", "5"]),
    ("reproduce jobs=0", lambda c: reproduce("xor", c.fresh("r"), jobs=0), V, ["jobs", "0"]),
    ("reproduce jobs for the auto-encoder", lambda c: reproduce("autoencoder", c.fresh("r"), jobs=2), V,
     ["jobs", "2", "autoencoder"]),
    ("pick_runs jobs=0", lambda c: pick_runs(["a"], jobs=0), V, ["jobs", "0"]),
    ("map_jobs jobs=0", lambda c: map_jobs(print, [()], jobs=0), V, ["jobs", "0"]),
    ("map_jobs fn=None", lambda c: map_jobs(None, [()]), T, ["fn", "None"]),
    ("map_jobs on_result=1", lambda c: map_jobs(print, [()], on_result=1), T, ["on_result", "1"]),
    # -- analysis ------------------------------------------------------------------------------------------------
    ("firing_rates of a string", lambda c: firing_rates("sol"), T, ["sol", "str"]),
    ("firing_rates sign=2", lambda c: firing_rates(c.sol, sign=2), V, ["sign", "2"]),
    ("firing_rates sign=True", lambda c: firing_rates(c.sol, sign=True), V, ["sign", "True"]),
    ("firing_rates t_span=(5, 1)", lambda c: firing_rates(c.sol, t_span=(5.0, 1.0)), V, ["t_span", "t0=5.0"]),
    ("firing_rates t_span='ab'", lambda c: firing_rates(c.sol, t_span="ab"), V, ["t_span", "'ab'"]),
    ("isi_stats of None", lambda c: isi_stats(None), T, ["sol", "NoneType"]),
    ("synaptic_charge neuron=99", lambda c: synaptic_charge(c.sol, neuron=99), V, ["neuron", "99", "[0, 3)"]),
    ("synaptic_charge neuron='0'", lambda c: synaptic_charge(c.sol, neuron="0"), V, ["neuron", "'0'"]),
    ("synaptic_charge fast without fast synapses", lambda c: synaptic_charge(c.sol, fast=True), V,
     ["fast", "tau_f"]),
    ("synaptic_charge tail='no'", lambda c: synaptic_charge(c.sol, tail="no"), T, ["tail", "'no'"]),
    ("current_decomposition problem='p'", lambda c: current_decomposition(c.sol, problem="p"), T,
     ["problem", "str"]),
    ("spike_time_errors reference='ref'", lambda c: spike_time_errors(c.sol, "ref"), T, ["reference", "str"]),
    ("spike_time_precision of a string", lambda c: spike_time_precision("problem"), T, ["problem", "str"]),
    ("spike_time_precision rtols=[-1]", lambda c: spike_time_precision(c.problem, rtols=[-1.0]), V,
     ["rtols", "-1."]),
    ("spike_time_precision rtols='abc'", lambda c: spike_time_precision(c.problem, rtols="abc"), T,
     ["rtols", "'abc'"]),
    ("spike_time_precision reference_rtol=0", lambda c: spike_time_precision(c.problem, reference_rtol=0.0), V,
     ["reference_rtol", "0.0"]),
    ("spike_gradient_contributions param='V'", lambda c: spike_gradient_contributions(c.sol, param="V"), V,
     ["param", "'V'"]),
    ("spike_gradient_contributions neuron=99", lambda c: spike_gradient_contributions(c.sol, neuron=99), V,
     ["neuron", "99"]),
    ("spike_gradient_contributions window=-1", lambda c: spike_gradient_contributions(c.sol, window=-1.0), V,
     ["window", "-1.0"]),
    ("perturbation_growth eps=-1", lambda c: perturbation_growth(c.net, c.params, t_span=(0, 5.0), eps=-1.0), V,
     ["eps", "-1.0"]),
    ("perturbation_growth seed=-1", lambda c: perturbation_growth(c.net, c.params, t_span=(0, 5.0), seed=-1), V,
     ["seed", "-1"]),
    ("perturbation_growth perturb='W'", lambda c: perturbation_growth(c.net, c.params, t_span=(0, 5.0),
                                                                      perturb="W"), V, ["perturb", "'W'"]),
    ("perturbation_growth net='net'", lambda c: perturbation_growth("net", c.params, t_span=(0, 5.0)), T,
     ["net", "str"]),
    ("perturbation_growth v0 of the wrong shape", lambda c: perturbation_growth(c.net, c.params, t_span=(0, 5.0),
                                                                                v0=np.zeros(5)), V, ["v0", "(3,)"]),
    ("predicted_fast_weights of a dict", lambda c: predicted_fast_weights({"U": 1}), T, ["params", "dict"]),
    ("compare_weights of different shapes", lambda c: compare_weights(np.zeros((2, 2)), np.zeros((3, 3))), V,
     ["trained", "predicted", "(2, 2)", "(3, 3)"]),
    ("compare_weights trained='abc'", lambda c: compare_weights("abc", np.zeros((2, 2))), T, ["trained", "'abc'"]),
    ("compare_weights off_diagonal='yes'", lambda c: compare_weights(np.eye(2), np.eye(2), off_diagonal="yes"), T,
     ["off_diagonal", "'yes'"]),
    # -- the command line: each exits with a message naming the option or file, no traceback ----------------------
    ("cli gradcheck --neurons 0", lambda c: _run_cli(["gradcheck", "--neurons", "0"]), SystemExit,
     ["--neurons", "0"]),
    ("cli gradcheck --duration 0", lambda c: _run_cli(["gradcheck", "--duration", "0"]), SystemExit,
     ["--duration", "0"]),
    ("cli gradcheck --duration inf", lambda c: _run_cli(["gradcheck", "--duration", "inf"]), SystemExit,
     ["--duration", "inf"]),
    ("cli gradcheck --directions 0", lambda c: _run_cli(["gradcheck", "--directions", "0"]), SystemExit,
     ["--directions", "0"]),
    ("cli gradcheck --seed -1", lambda c: _run_cli(["gradcheck", "--seed", "-1"]), SystemExit, ["--seed", "-1"]),
    ("cli gradcheck --neurons abc", lambda c: _run_cli(["gradcheck", "--neurons", "abc"]), SystemExit,
     ["--neurons", "'abc'"]),
    ("cli gradcheck --model hh", lambda c: _run_cli(["gradcheck", "--model", "hh"]), SystemExit,
     ["--model", "'hh'"]),
    ("cli train --config missing", lambda c: _run_cli(["train", "xor", "--config", str(c.tmp / "no.json"),
                                                       "--out", str(c.fresh("o"))]), SystemExit,
     ["--config", "no.json", "does not exist"]),
    ("cli train --config not JSON", lambda c: _run_cli(["train", "xor", "--config", c.config_file("{steps: 3"),
                                                        "--out", str(c.fresh("o"))]), SystemExit,
     ["odesnn train", "--config", "not valid JSON", "line 1"]),
    ("cli train --config a list", lambda c: _run_cli(["train", "xor", "--config", c.config_file([1]),
                                                      "--out", str(c.fresh("o"))]), SystemExit, ["--config", "list"]),
    ("cli train --config n_neurons=4.7", lambda c: _run_cli(["train", "xor", "--config",
                                                             c.config_file({"n_neurons": 4.7}),
                                                             "--out", str(c.fresh("o"))]), SystemExit,
     ["odesnn train", "n_neurons", "4.7"]),
    ("cli train --config init w_scale nan", lambda c: _run_cli(["train", "xor", "--config",
                                                                c.config_file('{"init": {"w_scale": NaN}}'),
                                                                "--out", str(c.fresh("o"))]), SystemExit,
     ["odesnn train", "init", "w_scale", "nan"]),
    ("cli train --config of another task", lambda c: _run_cli(["train", "autoencoder", "--config",
                                                               c.config_file({"task": "xor"}),
                                                               "--out", str(c.fresh("o"))]), SystemExit,
     ["'xor'", "'autoencoder'"]),
    ("cli evaluate --trials 0", lambda c: _run_cli(["evaluate", str(c.tmp / "any"), "--trials", "0"]), SystemExit,
     ["odesnn evaluate", "n_trials", "0"]),
    ("cli evaluate --duration -5", lambda c: _run_cli(["evaluate", str(c.tmp / "any"), "--duration", "-5"]),
     SystemExit, ["odesnn evaluate", "duration", "-5"]),
    ("cli evaluate a missing run", lambda c: _run_cli(["evaluate", str(c.tmp / "nowhere")]), SystemExit,
     ["odesnn evaluate", "nowhere", "train_config.json"]),
    ("cli evaluate --width 0 of the auto-encoder", lambda c: _run_cli(["evaluate", str(c.run), "--width", "0"]),
     SystemExit, ["odesnn evaluate", "width", "0"]),
    ("cli average of a missing run", lambda c: _run_cli(["average", str(c.tmp / "nowhere"), "--out",
                                                         str(c.fresh("o"))]), SystemExit,
     ["odesnn average", "nowhere"]),
    ("cli average without runs", lambda c: _run_cli(["average", "--out", str(c.fresh("o"))]), SystemExit,
     ["RUN"]),
    ("cli pick --top 0", lambda c: _run_cli(["pick", "a", "--top", "0"]), SystemExit, ["odesnn pick", "top", "0"]),
    ("cli pick --jobs 0", lambda c: _run_cli(["pick", "a", "--jobs", "0"]), SystemExit, ["odesnn pick", "jobs", "0"]),
    ("cli reproduce gate --jobs 2", lambda c: _run_cli(["reproduce", "gate", "--jobs", "2"]), SystemExit,
     ["--jobs", "gate"]),
    ("cli pick --seeds -1", lambda c: _run_cli(["pick", "a", "--seeds", "-1"]), SystemExit,
     ["odesnn pick", "seeds[0]", "-1"]),
    ("cli reproduce mnist", lambda c: _run_cli(["reproduce", "mnist"]), SystemExit, ["name", "'mnist'"]),
    ("cli reproduce autoencoder --candidates 3", lambda c: _run_cli(["reproduce", "autoencoder", "--candidates",
                                                                     "3"]), SystemExit,
     ["--candidates", "autoencoder"]),
    ("cli reproduce xor --candidates 0", lambda c: _run_cli(["reproduce", "xor", "--out", str(c.fresh("o")),
                                                             "--candidates", "0"]), SystemExit,
     ["odesnn reproduce", "candidates", "0"]),
    ("cli tolerance of a missing run", lambda c: _run_cli(["tolerance", str(c.tmp / "nowhere")]), SystemExit,
     ["odesnn tolerance", "nowhere"]),
]


def _jax():
    import odesnn.jax

    return odesnn.jax


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return Ctx(tmp_path_factory.mktemp("bad_inputs"))


def test_there_are_many_cases_with_distinct_names():
    assert len(CASES) >= 150
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_bad_input_is_named(case, ctx, capsys):
    name, call, error, fragments = case
    if error is None:
        call(ctx)
        return
    with pytest.raises(error) as info:
        call(ctx)
    if error is SystemExit:  # a message as the exit code, or argparse's usage error on stderr (exit code 2)
        code = info.value.code
        message = code if isinstance(code, str) else capsys.readouterr().err
        assert isinstance(code, str) or code == 2, code
        assert "Traceback" not in message
    else:
        assert type(info.value) in (ValueError, TypeError, FileNotFoundError) or \
            issubclass(type(info.value), (ValueError, TypeError, FileNotFoundError)), type(info.value)
        message = str(info.value)
    missing = [f for f in fragments if f not in message]
    assert not missing, f"{missing} not in the message: {message}"


# -- property tests: any bad value of a number argument is refused by name, any good one accepted ---------------

BAD_NUMBERS = st.one_of(
    st.floats(max_value=0.0, allow_nan=False),  # zero and below
    st.sampled_from([NAN, INF, -INF]),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
    st.lists(st.floats(0.1, 10.0), min_size=1, max_size=2),
)
GOOD_NUMBERS = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)

POSITIVE_ARGUMENTS = {
    "Network tau": ("tau", lambda x: Network(2, tau=x)),
    "Network tau_f": ("tau_f", lambda x: Network(2, tau_f=x)),  # None is valid (no fast synapses): skipped
    "Gate width": ("width", lambda x: Gate("smooth", x)),
    "NIF theta": ("theta", lambda x: NIF(theta=x)),
    "QIF tau_v": ("tau_v", lambda x: QIF(tau_v=x)),
    "LIF tau_m": ("tau_m", lambda x: LIF(tau_m=x)),
    "TrainConfig lr": ("lr", lambda x: TrainConfig(lr=x)),
    "TrainConfig duration": ("duration", lambda x: TrainConfig(duration=x, dt=min(x, 1.0) if is_real(x) and x > 0
                                                               else 1.0)),
    "TrainConfig rtol": ("rtol", lambda x: TrainConfig(rtol=x)),
    "SinusoidTask period": ("period", lambda x: SinusoidTask(period=x)),
    "XORTask pulse_width": ("pulse_width", lambda x: XORTask(pulse_width=x)),
    "jax Options atol": ("atol", lambda x: _jax().Options(atol=x)),
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(sorted(POSITIVE_ARGUMENTS)), value=BAD_NUMBERS)
def test_a_bad_number_is_refused_by_name(which, value):
    name, make = POSITIVE_ARGUMENTS[which]
    if value is None and which == "Network tau_f":
        return
    with pytest.raises((ValueError, TypeError)) as info:
        make(value)
    message = str(info.value)
    assert f"`{name}`" in message and (repr(value)[:20] in message or "array" in message), message


@settings(max_examples=25, deadline=None)
@given(which=st.sampled_from(sorted(POSITIVE_ARGUMENTS)), value=GOOD_NUMBERS)
def test_a_good_number_is_accepted(which, value):
    name, make = POSITIVE_ARGUMENTS[which]
    if which == "Gate width":
        value = min(value, 0.5)
    if which == "XORTask pulse_width":
        value = min(value, 400.0)  # the response must fit the trial
    make(value)


@settings(max_examples=30, deadline=None)
@given(scale=st.sampled_from(["w_scale", "wf_scale", "u_scale", "o_scale", "i0_scale"]),
       value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3)))
def test_init_params_returns_finite_parameters_or_refuses_the_scale(scale, value):
    net = Network(3, 2, 1, tau_f=1.0)
    try:
        params = net.init_params(0, **{scale: value})
    except ValueError as exc:
        assert f"`{scale}`" in str(exc)
        # refused: not a non-negative number, or so large that the parameters overflow (|x| > 1e300 at N = 3)
        assert isinstance(value, str) or not (math.isfinite(value) and value >= 0) or (
            value > 1e300 and "too large" in str(exc))
    else:
        assert not isinstance(value, str) and math.isfinite(value) and value >= 0
        assert all(np.all(np.isfinite(p)) for p in params)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["n_neurons", "n_inputs", "n_outputs", "tau", "tau_f"]),
       value=st.one_of(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x)),
                       st.text(max_size=4), st.lists(st.integers(), max_size=2), st.just({"x": 1})))
def test_a_saved_config_with_a_wrong_type_is_refused_naming_the_file_and_key(key, value, tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg")
    net = Network(3, 1, 1, tau_f=1.0)
    odesnn.save(path, net, net.init_params(0))
    cfg = json.loads((path / "config.json").read_text())
    cfg[key] = value
    (path / "config.json").write_text(json.dumps(cfg))
    try:
        loaded, _ = odesnn.load(path)
    except (ValueError, TypeError) as exc:
        assert "config.json" in str(exc) and key in str(exc), str(exc)
    else:  # only a positive float time constant may load, and then exactly as written (never truncated)
        assert key in ("tau", "tau_f") and isinstance(value, float) and value > 0
        assert getattr(loaded, key) == value

