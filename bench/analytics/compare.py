"""Prints the benchmark comparison of one population: wall times, speed ratios, kehu's peak
RSS, and the agreement checks:

- kehu vs the pandas + lifetimes reference: class counts (ABC, value classes, segments),
  score distributions, buyers, fitted parameters (relative difference; target <= 1e-3), and
  customer for customer: R/F/M scores, ABC class, segment (and value class, reported);
- kehu vs DuckDB (RFM + ABC): customer for customer: recency_days, orders, revenue, R/F/M
  scores and ABC class;
- the two references against each other (R/F/M scores, ABC), customer for customer: when
  they agree and kehu does not, kehu is the odd one out.

Customer ids are compared as text (integer or string ids alike).

usage: compare.py OUT_DIR   (reads kehu/{model,summary,customers}.json|csv, python.json,
       python-customers.csv, duckdb.csv, duckdb.log, {kehu,python,duckdb}.time, kehu.log if any)
Exit status 1 when a check fails.
"""

import json
import re
import sys
from pathlib import Path

import pandas as pd


def gnu_time(path):
    text = Path(path).read_text()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    seconds = 0.0
    for part in wall.split(":"):
        seconds = seconds * 60 + float(part)
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return seconds, rss_kb / 1024


def read_customers(path, columns):
    return pd.read_csv(path, usecols=columns, dtype={"customer_id": str}, keep_default_na=False)


def customer_check(name, left, right, columns):
    """Customers matched by id; counts the customers differing in each column."""
    ok = len(left) == len(right)
    joined = left.merge(right, on="customer_id", how="inner", suffixes=("_k", "_o"))
    ok &= len(joined) == len(left)
    parts = []
    for c in columns:
        bad = int((joined[f"{c}_k"] != joined[f"{c}_o"]).sum())
        ok &= bad == 0
        parts.append(f"{c} {bad}")
    print(f"{name}: {len(left)} vs {len(right)} customers, {len(joined)} matched by id; "
          f"customers differing: {', '.join(parts)} -> {'AGREE' if ok else 'DIFFER'}")
    return ok


def main():
    out = Path(sys.argv[1])
    model = json.loads((out / "kehu" / "model.json").read_text())
    summary = json.loads((out / "kehu" / "summary.json").read_text())
    py = json.loads((out / "python.json").read_text())
    kehu_wall, kehu_rss = gnu_time(out / "kehu.time")
    py_wall, py_rss = gnu_time(out / "python.time")
    duck_wall, duck_rss = gnu_time(out / "duckdb.time")
    duck_log = (out / "duckdb.log").read_text()
    duck_inner = float(re.search(r"duckdb RFM\+ABC: (\S+) s", duck_log).group(1))
    ratio = py_wall / kehu_wall
    print(f"customers: kehu {summary['customers']}, python {py['customers']}; rows {summary['rows']}; "
          f"buyers kehu {summary['buyers']} python {py['buyers']}; repeat kehu {summary['repeat_customers']} "
          f"python {py['repeat_customers']}")
    print(f"kehu analyze (everything) wall: {kehu_wall:.2f} s, peak RSS {kehu_rss:.0f} MB (target <= 500 MB)")
    log = out / "kehu.log"  # KEHU_ANALYZE_TIMINGS=1: elapsed seconds at each stage mark
    stages = re.findall(r"^\s*([0-9.]+)s (\S.*?)\s+VmHWM", log.read_text(), re.M) if log.exists() else []
    if stages:
        print("kehu stage marks (elapsed): " + ", ".join(f"{name} {t}s" for t, name in stages))
    print(f"pandas + lifetimes reference wall: {py_wall:.2f} s, peak RSS {py_rss:.0f} MB; stages: "
          + ", ".join(f"{k} {v:.1f}s" for k, v in py["timings_seconds"].items()))
    print(f"DuckDB RFM+ABC wall: {duck_wall:.2f} s (query {duck_inner:.2f} s, the rest is Python start-up "
          f"and import), peak RSS {duck_rss:.0f} MB")
    print(f"speed ratio kehu vs pandas+lifetimes: {ratio:.1f}x (target >= 10x) -> "
          f"{'MET' if ratio >= 10 else 'NOT MET'}")
    print(f"kehu (all stages) vs DuckDB (RFM+ABC only): {kehu_wall:.2f} s vs {duck_wall:.2f} s wall, "
          f"{duck_inner:.2f} s query -> kehu {'<=' if kehu_wall <= duck_wall else '>'} DuckDB wall "
          f"(target kehu <= DuckDB: {'MET' if kehu_wall <= duck_wall else 'NOT MET'})")
    print()
    worst = 0.0
    print("parameter        kehu                python              rel. diff")
    for section, names in (("bgnbd", ("r", "alpha", "a", "b")), ("gamma_gamma", ("p", "q", "gamma"))):
        for name in names:
            k = model[section][name]
            p = py[section][name]
            rel = abs(k - p) / abs(p)
            worst = max(worst, rel)
            print(f"{section}.{name:<6} {k:>19.10g} {p:>19.10g} {rel:>12.2e}")
    params_ok = worst <= 1e-3
    print(f"largest parameter difference: {worst:.2e} (target <= 1e-3) -> {'AGREE' if params_ok else 'DIFFER'}")
    print()
    print("counts                     kehu    python")
    same = summary["customers"] == py["customers"] and summary["buyers"] == py["buyers"]
    same &= summary["revenue_cents"] == py["revenue_cents"]
    for section in ("abc", "value_classes", "segments"):
        for name in sorted(set(py[section]) | set(summary[section])):
            k = summary[section].get(name, 0)
            k = k["customers"] if isinstance(k, dict) else k
            p = py[section].get(name, 0)
            same &= k == p
            print(f"{section}.{name:<18} {k:>9} {p:>9}{'' if k == p else '  (differs by ' + str(k - p) + ')'}")
    for s in ("r", "f", "m"):
        k = summary["score_distribution"][s]
        p = py["score_distribution"][s]
        same &= k == p
        print(f"{s}_score 1..5 kehu {k} python {p}{'' if k == p else '  DIFFERENT'}")
    print(f"clusters (sizes; k-means seeds differ, not checked): kehu "
          f"{[c['customers'] for c in summary['clusters']]} python {py['clusters']}")
    print(f"revenue cents: kehu {summary['revenue_cents']} python {py['revenue_cents']}")
    for name in ("mean_p_alive", "expected_purchases_total", "clv_total"):
        k, p = summary[name], py[name]
        print(f"{name}: kehu {k:.6f} python {p:.6f} rel. diff {abs(k - p) / abs(p):.2e}")
    print(f"identical counts, class counts and score distributions: {same} -> {'AGREE' if same else 'DIFFER'}")
    print()

    kehu = read_customers(out / "kehu" / "customers.csv",
                          ["customer_id", "recency_days", "orders", "revenue", "r_score", "f_score", "m_score",
                           "segment", "abc", "value_class"])
    kehu["revenue_cents"] = (kehu["revenue"].astype(float) * 100).round().astype("int64")
    python = read_customers(out / "python-customers.csv",
                            ["customer_id", "r_score", "f_score", "m_score", "segment", "abc", "value_class"])
    scores = ["r_score", "f_score", "m_score", "abc"]
    py_ok = customer_check("kehu vs pandas+lifetimes, customer for customer", kehu[["customer_id", *scores, "segment"]],
                           python[["customer_id", *scores, "segment"]], [*scores, "segment"])
    vc = kehu.merge(python[["customer_id", "value_class"]], on="customer_id", suffixes=("_k", "_o"))
    vc_bad = int((vc["value_class_k"] != vc["value_class_o"]).sum())
    print(f"  value_class differs for {vc_bad} customers (CLV near the median; reported, not checked)")
    duck = read_customers(out / "duckdb.csv", ["customer_id", "recency_days", "orders", "revenue_cents", *scores])
    rfm = ["recency_days", "orders", "revenue_cents", *scores]
    duck_ok = customer_check("kehu vs DuckDB (RFM + ABC), customer for customer", kehu[["customer_id", *rfm]],
                             duck, rfm)
    refs_ok = customer_check("pandas+lifetimes vs DuckDB (the two references), customer for customer",
                             python[["customer_id", *scores]], duck[["customer_id", *scores]], scores)
    ok = params_ok and same and py_ok and duck_ok and refs_ok
    print(f"all checks: {'AGREE' if ok else 'DIFFER'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
