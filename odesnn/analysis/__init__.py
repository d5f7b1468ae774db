"""Analysis of simulation results (either backend): rates, ISIs, currents, precision, sensitivity, gradients
per spike."""

from .contributions import SpikeContributions as SpikeContributions
from .contributions import spike_gradient_contributions as spike_gradient_contributions
from .currents import CurrentDecomposition as CurrentDecomposition
from .currents import current_decomposition as current_decomposition
from .perturbation import PerturbationGrowth as PerturbationGrowth
from .perturbation import perturbation_growth as perturbation_growth
from .precision import PrecisionTable as PrecisionTable
from .precision import spike_time_errors as spike_time_errors
from .precision import spike_time_precision as spike_time_precision
from .spikes import ISIStats as ISIStats
from .spikes import firing_rates as firing_rates
from .spikes import isi_stats as isi_stats
from .spikes import synaptic_charge as synaptic_charge
from .weights import WeightComparison as WeightComparison
from .weights import compare_weights as compare_weights
from .weights import predicted_fast_weights as predicted_fast_weights
