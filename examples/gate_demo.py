"""The gated synapse on a single neuron (the paper's Figure 1).

A non-leaky IF neuron with a box gate of width Δ is depolarised to plateaus
at different rates. Each depolarisation through the whole active zone
delivers synaptic charge exactly 1, whatever its rate; a plateau inside the
zone delivers a graded charge, one below it none.

Run ``python examples/gate_demo.py --out figure1.png``.
"""

from __future__ import annotations

import argparse

from odesnn.tasks.figures import figure1


def main(out="figure1.png", width=0.1, tau=10.0):
    """Draw the figure to ``out`` and print the charge of each panel; returns the summary dict."""
    summary = figure1(out, width=width, tau=tau)
    print(f"gate width {width}, tau {tau} ms -> {out}")
    for panel, row in summary.items():
        print(f"  {panel}: plateau v={row['plateau']:.2f}, rise {row['rise_ms']:4.1f} ms, "
              f"charge {row['charge']:.6f} (threshold synapse {row['charge_threshold_synapse']:.6f})")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figure1.png")
    parser.add_argument("--width", type=float, default=0.1)
    args = parser.parse_args()
    main(args.out, args.width)
