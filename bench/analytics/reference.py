"""The Python reference for the kehu analytics benchmark: pandas + numpy + lifetimes doing
the work `kehu analyze` does, with kehu's definitions (crates/kehu-analytics/src/lib.rs,
"Definitions").

What each side computes, per customer, from a `customer_id,date,amount` CSV:

  step                      kehu analyze                      this reference
  read                      CSV, exact integer cents          pandas.read_csv; cents = round(amount*100)
                                                              (exact for <= 2 decimals)
  purchase days             a (customer, day) is a purchase   the same: rows of refund-only days are
                            day when it has a line >= 0       dropped before lifetimes, which then
                                                              counts every remaining day
  RFM                       recency_days, orders (rows),      pandas groupby; the same rank rule
                            revenue (net cents); scores 1-5
                            by rank, ties by id
  ABC                       revenue desc, running total       numpy cumsum on the same order
  model summary             frequency, recency, T, monetary   lifetimes.summary_data_from_transaction_data
                            (weeks; mean of repeat days'      (freq "D", then /7)
                            net totals)
  BG/NBD                    r, alpha, a, b (ML, BFGS)         lifetimes.BetaGeoFitter
  Gamma-Gamma               p, q, gamma on x > 0, m > 0       lifetimes.GammaGammaFitter on the same set
  predictions               p_alive, E[X(12 months)],         BetaGeoFitter.conditional_*;
                            expected spend (population mean   GammaGammaFitter.conditional_expected_
                            for x = 0 or m <= 0), CLV         average_profit (pop. mean where x = 0 or
                                                              m <= 0); lifetimes' _customer_lifetime_value
  value classes             12-month revenue x CLV, medians   numpy quantile (linear)
  segments                  named RFM segments                numpy select, the same table
  clusters                  k-means (k-means++, Lloyd to      numpy k-means, same features, k-means++
                            sklearn's tol, <= 100 iter.) on    from its own seed, the same stop rule
                            features                          (sizes close, not identical: other seeds)
  output                    customers.csv, model.json,        customers.csv (the same columns),
                            summary.json                      OUT.json
Customers with no purchase day (only refunds) stay in RFM, ABC, classes and clusters and get
p_alive = expected_purchases = clv = 0, as in kehu. mean_p_alive is over buyers.

usage: reference.py TRANSACTIONS.csv OUT.json [--customers-csv FILE] [--horizon-months 12]
                    [--discount-rate 0.01] [--clusters 5]
"""

import argparse
import json
import time

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import _customer_lifetime_value, summary_data_from_transaction_data


def scores_by_rank(values, id_rank):
    """Rank 1..n worst to best, ties by id ascending; score = (rank-1)*5//n + 1."""
    order = np.lexsort((id_rank, values))  # last key is primary
    n = len(values)
    scores = np.empty(n, dtype=np.int64)
    scores[order] = np.arange(n) * 5 // n + 1
    return scores


def id_ranks(ids):
    """Rank of each id, as kehu orders them: numerically when every id is an integer (an
    optional sign, digits; Rust's i128 parse), ties between equal numbers ("7", "07") by
    text; else bytewise (code point order = UTF-8 byte order)."""
    text = np.array(ids, dtype=str)
    s = pd.Series(ids, dtype=object)
    if len(s) and s.str.fullmatch(r"[+-]?[0-9]+").all():
        try:
            numbers = s.astype(np.int64).to_numpy()
            order = np.lexsort((text, numbers))
        except OverflowError:  # beyond int64: Python integers
            order = np.array(sorted(range(len(ids)), key=lambda i: (int(ids[i]), ids[i])), dtype=np.int64)
    else:
        order = np.argsort(text, kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank


def segments(r, f, m):
    rules = [
        ("champions", (r >= 4) & (f >= 4) & (m >= 4)),
        ("loyal", (r >= 3) & (f >= 4)),
        ("potential_loyalist", (r >= 4) & (f >= 2) & (f <= 3)),
        ("new", (r == 5) & (f == 1)),
        ("promising", (r == 4) & (f == 1)),
        ("need_attention", (r == 3) & (f >= 2) & (f <= 3)),
        ("about_to_sleep", (r == 3) & (f == 1)),
        ("cant_lose", (r <= 2) & (f >= 4) & (m >= 4)),
        ("at_risk", (r <= 2) & (f >= 3)),
        ("hibernating", (r == 2) & (f <= 2)),
        ("lost", (r == 1) & (f <= 2)),
    ]
    return np.select([c for _, c in rules], [n for n, _ in rules], default="lost")


def kmeans(raw, k, seed=0x6B656875, max_iter=100):
    """k-means++ seeding, Lloyd iterations until no label changes or the centres' squared
    moves add up to at most 1e-4 of the mean feature variance (scikit-learn's tol; then one
    last assignment), at most 100."""
    sd = raw.std(axis=0)
    pts = np.where(sd > 0, (raw - raw.mean(axis=0)) / np.where(sd > 0, sd, 1), 0.0)
    rng = np.random.default_rng(seed)
    n = len(pts)
    centres = [pts[rng.integers(n)]]
    nearest = ((pts - centres[0]) ** 2).sum(axis=1)
    while len(centres) < k and nearest.sum() > 0:
        chosen = rng.choice(n, p=nearest / nearest.sum())
        centres.append(pts[chosen])
        nearest = np.minimum(nearest, ((pts - pts[chosen]) ** 2).sum(axis=1))
    centres = np.array(centres)
    tolerance = 1e-4 * pts.var(axis=0).mean()
    labels = np.full(n, -1)
    iterations = 0
    settled = False
    for iterations in range(1, max_iter + 1):
        d = ((pts[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        new = d.argmin(axis=1)
        if np.array_equal(new, labels) or settled:
            labels = new
            break
        labels = new
        before = centres.copy()
        for c in range(len(centres)):
            members = labels == c
            if members.any():
                centres[c] = pts[members].mean(axis=0)
        settled = ((centres - before) ** 2).sum() <= tolerance
    # Number clusters by centre revenue descending, like kehu.
    rev = np.array([raw[labels == c, 2].mean() if (labels == c).any() else -np.inf for c in range(len(centres))])
    renumber = np.empty(len(centres), dtype=np.int64)
    renumber[np.argsort(-rev, kind="stable")] = np.arange(len(centres))
    return renumber[labels], iterations


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("transactions")
    ap.add_argument("out")
    ap.add_argument("--customers-csv")
    ap.add_argument("--horizon-months", type=int, default=12)
    ap.add_argument("--discount-rate", type=float, default=0.01)
    ap.add_argument("--clusters", type=int, default=5)
    args = ap.parse_args()
    timings = {}
    t0 = time.perf_counter()

    tx = pd.read_csv(args.transactions, dtype={"customer_id": str, "amount": np.float64})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y-%m-%d")
    # Dense customer codes in order of first appearance (as kehu interns them).
    tx["cid"], ids = pd.factorize(tx["customer_id"])
    ids = np.asarray(ids, dtype=object)
    # Exact cents: amounts have at most two decimals, so the nearest double times 100 rounds
    # to the exact integer.
    tx["cents"] = np.round(tx["amount"].to_numpy() * 100).astype(np.int64)
    as_of = tx["date"].max()
    timings["read"] = time.perf_counter() - t0

    # Purchase days: a (customer, day) with at least one line >= 0; refund-only days are
    # dropped before lifetimes (which would count every transaction day).
    t = time.perf_counter()
    day_max = tx.groupby(["cid", "date"], sort=False)["cents"].transform("max")
    purchases = tx.loc[day_max.to_numpy() >= 0, ["cid", "date", "cents"]]
    timings["purchase_days"] = time.perf_counter() - t

    # RFM with pandas.
    t = time.perf_counter()
    g = tx.groupby("cid")
    rfm = pd.DataFrame({
        "orders": g.size(),
        "revenue_cents": g["cents"].sum(),
        "last_row": g["date"].max(),
    })
    last_purchase = purchases.groupby("cid")["date"].max().reindex(rfm.index)
    rfm["recency_days"] = (as_of - last_purchase.fillna(rfm["last_row"])).dt.days
    rank = id_ranks(ids)[rfm.index.to_numpy()]
    rfm["r_score"] = scores_by_rank(-rfm["recency_days"].to_numpy(), rank)
    rfm["f_score"] = scores_by_rank(rfm["orders"].to_numpy(), rank)
    rfm["m_score"] = scores_by_rank(rfm["revenue_cents"].to_numpy(), rank)
    # ABC: revenue descending, ties by id ascending, running total including the customer.
    rev = rfm["revenue_cents"].to_numpy()
    order = np.lexsort((rank, -rev))
    running = np.cumsum(rev[order])
    total = int(rev.sum())
    abc_sorted = np.where(running * 100 <= total * 80, "A", np.where(running * 100 <= total * 95, "B", "C"))
    abc = np.empty(len(rev), dtype=object)
    abc[order] = abc_sorted
    rfm["abc"] = abc
    rfm["segment"] = segments(rfm["r_score"].to_numpy(), rfm["f_score"].to_numpy(), rfm["m_score"].to_numpy())
    cut = as_of - pd.DateOffset(months=12)
    rfm["revenue_12m"] = tx[tx["date"] > cut].groupby("cid")["cents"].sum().reindex(rfm.index, fill_value=0) / 100.0
    timings["rfm_abc"] = time.perf_counter() - t

    # lifetimes.
    t = time.perf_counter()
    summary = summary_data_from_transaction_data(
        purchases, "cid", "date", monetary_value_col="cents", observation_period_end=as_of, freq="D"
    )
    # Day totals summed in exact cents: a day whose refund cancels its purchase is 0, not a
    # float residue like 1e-14 that would pass the Gamma-Gamma filter `monetary_value > 0`.
    summary["monetary_value"] /= 100.0
    summary["recency"] /= 7.0
    summary["T"] /= 7.0
    timings["lifetimes_summary"] = time.perf_counter() - t

    t = time.perf_counter()
    bgf = BetaGeoFitter(penalizer_coef=0.0)
    bgf.fit(summary["frequency"], summary["recency"], summary["T"])
    timings["bgnbd_fit"] = time.perf_counter() - t

    t = time.perf_counter()
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    ggf = GammaGammaFitter(penalizer_coef=0.0)
    ggf.fit(repeat["frequency"], repeat["monetary_value"])
    timings["gamma_gamma_fit"] = time.perf_counter() - t

    t = time.perf_counter()
    weeks = args.horizon_months * 4.345
    f, rec, T, m = summary["frequency"], summary["recency"], summary["T"], summary["monetary_value"]
    summary["p_alive"] = bgf.conditional_probability_alive(f, rec, T)
    summary["expected_purchases"] = bgf.conditional_expected_number_of_purchases_up_to_time(weeks, f, rec, T)
    gp = ggf.params_
    population_mean = gp["v"] * gp["p"] / (gp["q"] - 1)
    spend = ggf.conditional_expected_average_profit(f, m.where(m > 0, 1.0))
    summary["expected_spend"] = spend.where((f > 0) & (m > 0), population_mean)
    summary["clv"] = _customer_lifetime_value(
        bgf, f, rec, T, summary["expected_spend"],
        time=args.horizon_months, discount_rate=args.discount_rate, freq="W",
    )
    timings["predict_clv"] = time.perf_counter() - t

    t = time.perf_counter()
    df = rfm.join(summary, how="left")
    buyers = df["frequency"].notna().to_numpy()
    for col in ("p_alive", "expected_purchases", "expected_spend", "clv", "frequency", "recency", "T",
                "monetary_value"):
        df[col] = df[col].fillna(0.0)
    current = df["revenue_12m"].to_numpy()
    potential = df["clv"].to_numpy()
    hc = current > np.quantile(current, 0.5)
    hp = potential > np.quantile(potential, 0.5)
    df["value_class"] = np.where(hc & hp, "high", np.where(hc, "sub", np.where(hp, "potential", "low")))
    timings["value_classes"] = time.perf_counter() - t

    t = time.perf_counter()
    features = np.column_stack([
        np.log1p(np.maximum(df["recency_days"].to_numpy(), 0)),
        np.log1p(df["orders"].to_numpy()),
        np.log1p(np.maximum(df["revenue_cents"].to_numpy(), 0) / 100.0),
    ])
    df["cluster"], kmeans_iterations = kmeans(features, args.clusters)
    timings["kmeans"] = time.perf_counter() - t

    t = time.perf_counter()
    if args.customers_csv:
        first = (as_of - pd.to_timedelta((df["T"] * 7).round(), unit="D")).dt.strftime("%Y-%m-%d")
        last = (as_of - pd.to_timedelta(df["recency_days"], unit="D")).dt.strftime("%Y-%m-%d")
        out = pd.DataFrame({
            "customer_id": ids[df.index.to_numpy()],
            "first_purchase": first.where(buyers, ""),
            "last_purchase": last.where(buyers, ""),
            "orders": df["orders"],
            "revenue": df["revenue_cents"] / 100.0,
            "frequency": df["frequency"],
            "recency": df["recency"],
            "T": df["T"],
            "monetary_value": df["monetary_value"],
            "recency_days": df["recency_days"],
            "r_score": df["r_score"],
            "f_score": df["f_score"],
            "m_score": df["m_score"],
            "segment": df["segment"],
            "abc": df["abc"],
            "p_alive": df["p_alive"],
            "expected_purchases": df["expected_purchases"],
            "expected_spend": df["expected_spend"],
            "clv": df["clv"],
            "value_class": df["value_class"],
            "cluster": df["cluster"],
        })
        out.to_csv(args.customers_csv, index=False)
    timings["write"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0

    def counts(col):
        return {str(k): int(v) for k, v in df[col].value_counts().sort_index().items()}

    result = {
        "customers": int(len(df)),
        "buyers": int(buyers.sum()),
        "repeat_customers": int((summary["frequency"] > 0).sum()),
        "gamma_gamma_customers": int(len(repeat)),
        "revenue_cents": total,
        "abc": counts("abc"),
        "value_classes": counts("value_class"),
        "segments": counts("segment"),
        "clusters": [int(v) for v in np.bincount(df["cluster"].to_numpy(), minlength=args.clusters)],
        "kmeans_iterations": kmeans_iterations,
        "score_distribution": {
            s: [int((df[f"{s}_score"] == k).sum()) for k in range(1, 6)] for s in ("r", "f", "m")
        },
        "bgnbd": {k: float(v) for k, v in bgf.params_.items()},
        "gamma_gamma": {"p": float(gp["p"]), "q": float(gp["q"]), "gamma": float(gp["v"])},
        "mean_p_alive": float(df.loc[buyers, "p_alive"].mean()),
        "expected_purchases_total": float(df["expected_purchases"].sum()),
        "clv_total": float(df["clv"].sum()),
        "timings_seconds": timings,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
