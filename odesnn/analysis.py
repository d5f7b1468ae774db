"""Analysis of simulation results (either backend): rates, ISIs, currents, precision, sensitivity, gradients
per spike."""

from ._analysis import CurrentDecomposition as CurrentDecomposition
from ._analysis import ISIStats as ISIStats
from ._analysis import PerturbationGrowth as PerturbationGrowth
from ._analysis import PrecisionTable as PrecisionTable
from ._analysis import SpikeContributions as SpikeContributions
from ._analysis import WeightComparison as WeightComparison
from ._analysis import compare_weights as compare_weights
from ._analysis import current_decomposition as current_decomposition
from ._analysis import firing_rates as firing_rates
from ._analysis import isi_stats as isi_stats
from ._analysis import perturbation_growth as perturbation_growth
from ._analysis import predicted_fast_weights as predicted_fast_weights
from ._analysis import spike_gradient_contributions as spike_gradient_contributions
from ._analysis import spike_time_errors as spike_time_errors
from ._analysis import spike_time_precision as spike_time_precision
from ._analysis import synaptic_charge as synaptic_charge
