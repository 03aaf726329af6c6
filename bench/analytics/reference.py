"""The Python reference for the kehu analytics benchmark: the same steps analysts run with
pandas (RFM, ABC, value classes) and lifetimes (summary, BetaGeoFitter, GammaGammaFitter,
CLV), with kehu's definitions (see crates/kehu-analytics/src/lib.rs).

usage: reference.py TRANSACTIONS.csv OUT.json [--horizon-months 12] [--discount-rate 0.01]
"""

import argparse
import json
import time

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data


def scores_by_rank(values, ids):
    """Rank 1..n worst to best, ties by id ascending; score = (rank-1)*5//n + 1."""
    order = np.lexsort((ids, values))  # last key is primary
    n = len(values)
    scores = np.empty(n, dtype=np.int64)
    scores[order] = np.arange(n) * 5 // n + 1
    return scores


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("transactions")
    ap.add_argument("out")
    ap.add_argument("--horizon-months", type=int, default=12)
    ap.add_argument("--discount-rate", type=float, default=0.01)
    args = ap.parse_args()
    timings = {}
    t0 = time.perf_counter()

    tx = pd.read_csv(args.transactions, dtype={"customer_id": np.int64, "amount": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y-%m-%d")
    # Exact cents from the decimal text, as kehu parses it.
    negative = tx["amount"].str.startswith("-")
    parts = tx["amount"].str.lstrip("+-").str.split(".", n=1, expand=True)
    whole = parts[0].replace("", "0").astype(np.int64)
    frac = parts[1].fillna("0").str.ljust(2, "0").astype(np.int64) if parts.shape[1] > 1 else 0
    tx["cents"] = np.where(negative, -1, 1) * (whole * 100 + frac)
    tx["amount"] = tx["cents"] / 100.0
    as_of = tx["date"].max()
    timings["read"] = time.perf_counter() - t0

    # RFM with pandas.
    t = time.perf_counter()
    g = tx.groupby("customer_id")
    rfm = pd.DataFrame({
        "orders": g.size(),
        "revenue_cents": g["cents"].sum(),
        "last": g["date"].max(),
    })
    rfm["recency_days"] = (as_of - rfm["last"]).dt.days
    ids = rfm.index.to_numpy()
    rfm["r_score"] = scores_by_rank(-rfm["recency_days"].to_numpy(), ids)
    rfm["f_score"] = scores_by_rank(rfm["orders"].to_numpy(), ids)
    rfm["m_score"] = scores_by_rank(rfm["revenue_cents"].to_numpy(), ids)
    # ABC: revenue descending, ties by id ascending, running total including the customer.
    rev = rfm["revenue_cents"].to_numpy()
    order = np.lexsort((ids, -rev))
    running = np.cumsum(rev[order])
    total = int(rev.sum())
    abc_sorted = np.where(running * 100 <= total * 80, "A", np.where(running * 100 <= total * 95, "B", "C"))
    abc = np.empty(len(rev), dtype=object)
    abc[order] = abc_sorted
    rfm["abc"] = abc
    cut = as_of - pd.DateOffset(months=12)
    rfm["revenue_12m"] = tx[tx["date"] > cut].groupby("customer_id")["cents"].sum().reindex(rfm.index, fill_value=0) / 100.0
    timings["rfm_abc"] = time.perf_counter() - t

    # lifetimes.
    t = time.perf_counter()
    summary = summary_data_from_transaction_data(
        tx, "customer_id", "date", monetary_value_col="amount", observation_period_end=as_of, freq="D"
    )
    summary["recency"] /= 7.0
    summary["T"] /= 7.0
    timings["lifetimes_summary"] = time.perf_counter() - t

    t = time.perf_counter()
    bgf = BetaGeoFitter(penalizer_coef=0.0)
    bgf.fit(summary["frequency"], summary["recency"], summary["T"])
    timings["bgnbd_fit"] = time.perf_counter() - t

    t = time.perf_counter()
    repeat = summary[summary["frequency"] > 0]
    ggf = GammaGammaFitter(penalizer_coef=0.0)
    ggf.fit(repeat["frequency"], repeat["monetary_value"])
    timings["gamma_gamma_fit"] = time.perf_counter() - t

    t = time.perf_counter()
    weeks = args.horizon_months * 4.345
    summary["p_alive"] = bgf.conditional_probability_alive(summary["frequency"], summary["recency"], summary["T"])
    summary["expected_purchases"] = bgf.conditional_expected_number_of_purchases_up_to_time(
        weeks, summary["frequency"], summary["recency"], summary["T"]
    )
    summary["clv"] = ggf.customer_lifetime_value(
        bgf, summary["frequency"], summary["recency"], summary["T"], summary["monetary_value"],
        time=args.horizon_months, discount_rate=args.discount_rate, freq="W",
    )
    timings["predict_clv"] = time.perf_counter() - t

    t = time.perf_counter()
    df = rfm.join(summary, how="left")
    current = df["revenue_12m"].to_numpy()
    potential = df["clv"].fillna(0).to_numpy()
    hc = current > np.quantile(current, 0.5)
    hp = potential > np.quantile(potential, 0.5)
    df["value_class"] = np.where(hc & hp, "high", np.where(hc, "sub", np.where(hp, "potential", "low")))
    timings["value_classes"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0

    def counts(col):
        return {str(k): int(v) for k, v in df[col].value_counts().sort_index().items()}

    result = {
        "customers": int(len(df)),
        "revenue_cents": total,
        "abc": counts("abc"),
        "value_classes": counts("value_class"),
        "score_distribution": {
            s: [int((df[f"{s}_score"] == k).sum()) for k in range(1, 6)] for s in ("r", "f", "m")
        },
        "bgnbd": {k: float(v) for k, v in bgf.params_.items()},
        "gamma_gamma": {"p": float(ggf.params_["p"]), "q": float(ggf.params_["q"]), "gamma": float(ggf.params_["v"])},
        "mean_p_alive": float(df["p_alive"].mean()),
        "expected_purchases_total": float(df["expected_purchases"].sum()),
        "clv_total": float(df["clv"].sum()),
        "timings_seconds": timings,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
