"""Measure how often the outcome CIs cover the planted truth over repeated simulations.

The script runs painpoints.outcomes.analyse_outcomes on simulate_churn data `--runs`
times (seeds 0, 1, …), with contract as covariate and tenure as duration. For each
interval it prints the share of runs whose 95 % CI contains the true value, with a
Wilson 95 % CI of that share. It also prints how often each effect was called
significant.

Usage: python benchmarks/outcomes_coverage.py [--runs 300] [--customers 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from painpoints import schema as S
from painpoints.outcomes import analyse_outcomes
from painpoints.outcomes._simulation import (
    CONTRACT,
    LABELS,
    TENURE,
    TOPIC_A,
    TOPIC_B,
    TOPIC_C,
    TOPIC_D,
    simulate_churn,
    simulation_truth,
)


def covers(low: float, high: float, truth: float) -> bool:
    return bool(low <= truth <= high)


def run_once(n_customers: int, seed: int) -> dict[str, bool]:
    truth = simulation_truth()
    documents = simulate_churn(n_customers, seed)
    analysis = analyse_outcomes(
        documents, LABELS, covariates=[CONTRACT], duration_col=TENURE, period=None
    )
    table = analysis.outcomes.to_frame().set_index(S.TOPIC_ID)
    survival = analysis.survival.to_frame().set_index(S.TOPIC_ID)
    a, b, c, d = (table.loc[topic] for topic in (TOPIC_A, TOPIC_B, TOPIC_C, TOPIC_D))
    return {
        "A risk difference (Newcombe)": covers(a.rd_ci_low, a.rd_ci_high, truth.risk_difference_a),
        "A odds ratio (Woolf)": covers(a.or_ci_low, a.or_ci_high, truth.odds_ratio_a),
        "A adjusted odds ratio (Logit Wald)": covers(
            a.aor_ci_low, a.aor_ci_high, truth.adjusted_odds_ratio_a
        ),
        "B risk difference (Newcombe)": covers(b.rd_ci_low, b.rd_ci_high, 0.0),
        "B odds ratio (Woolf)": covers(b.or_ci_low, b.or_ci_high, 1.0),
        "B adjusted odds ratio (Logit Wald)": covers(b.aor_ci_low, b.aor_ci_high, 1.0),
        "C crude odds ratio (Woolf)": covers(c.or_ci_low, c.or_ci_high, truth.crude_odds_ratio_c),
        "C adjusted odds ratio (Logit Wald)": covers(c.aor_ci_low, c.aor_ci_high, 1.0),
        "D risk difference (Newcombe)": covers(d.rd_ci_low, d.rd_ci_high, 0.0),
        "B hazard ratio (Cox Wald)": covers(
            survival.at[TOPIC_B, "hr_ci_low"], survival.at[TOPIC_B, "hr_ci_high"], 1.0
        ),
        "significant: A q < 0.05": bool(a.q_value < 0.05),
        "significant: B p < 0.05": bool(b.p_value < 0.05),
        "significant: C crude p < 0.05": bool(c.p_value < 0.05),
        "significant: C adjusted CI excludes 1": not covers(c.aor_ci_low, c.aor_ci_high, 1.0),
        "significant: D hazard ratio CI above 1": bool(survival.at[TOPIC_D, "hr_ci_low"] > 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="simulations (seeds 0 … runs-1)")
    parser.add_argument("--customers", type=int, default=2000, help="customers per simulation")
    options = parser.parse_args()

    started = time.perf_counter()
    outcomes: dict[str, list[bool]] = {}
    for seed in range(options.runs):
        for name, hit in run_once(options.customers, seed).items():
            outcomes.setdefault(name, []).append(hit)
    seconds = time.perf_counter() - started

    truth = simulation_truth()
    print(
        f"{options.runs} runs of {options.customers} customers in {seconds:.0f} s; truths: "
        f"A RD {truth.risk_difference_a:.3f}, A OR {truth.odds_ratio_a:.3f}, "
        f"A adjusted OR {truth.adjusted_odds_ratio_a:.3f}, C crude OR {truth.crude_odds_ratio_c:.3f}"
    )
    print()
    print("| interval or call | share of runs | Wilson 95 % CI |")
    print("|---|---|---|")
    for name, hits in outcomes.items():
        count = int(np.sum(hits))
        low, high = proportion_confint(count, len(hits), method="wilson")
        share = count / len(hits)
        print(f"| {name} | {share:.3f} | {low:.3f}–{high:.3f} |")


if __name__ == "__main__":
    main()
