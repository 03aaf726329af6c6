"""Prints the benchmark comparison: wall times, speed ratio, kehu's peak RSS, class counts,
score distributions and fitted parameters (relative difference; target <= 1e-3).

usage: compare.py OUT_DIR   (reads kehu/{model,summary}.json, python.json, *.time)
"""

import json
import re
import sys
from pathlib import Path


def gnu_time(path):
    text = Path(path).read_text()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    seconds = 0.0
    for part in wall.split(":"):
        seconds = seconds * 60 + float(part)
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return seconds, rss_kb / 1024


def main():
    out = Path(sys.argv[1])
    model = json.loads((out / "kehu" / "model.json").read_text())
    summary = json.loads((out / "kehu" / "summary.json").read_text())
    py = json.loads((out / "python.json").read_text())
    kehu_wall, kehu_rss = gnu_time(out / "kehu.time")
    py_wall, py_rss = gnu_time(out / "python.time")
    ratio = py_wall / kehu_wall
    print(f"customers: kehu {summary['customers']}, python {py['customers']}; rows {summary['rows']}")
    print(f"kehu analyze wall: {kehu_wall:.2f} s, peak RSS {kehu_rss:.0f} MB (target <= 500 MB)")
    print(f"python reference wall: {py_wall:.2f} s, peak RSS {py_rss:.0f} MB; stages: "
          + ", ".join(f"{k} {v:.1f}s" for k, v in py["timings_seconds"].items()))
    print(f"speed ratio: {ratio:.1f}x (target >= 10x)")
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
    print(f"largest parameter difference: {worst:.2e} (target <= 1e-3)")
    print()
    print("counts           kehu        python")
    same = True
    for section in ("abc", "value_classes"):
        for name in sorted(py[section]):
            k = summary[section][name]["customers"]
            p = py[section][name]
            same &= k == p
            print(f"{section}.{name:<14} {k:>9} {p:>9}{'' if k == p else '  (differs by ' + str(k - p) + ')'}")
    for s in ("r", "f", "m"):
        k = summary["score_distribution"][s]
        p = py["score_distribution"][s]
        same &= k == p
        print(f"{s}_score 1..5 kehu {k} python {p}{'' if k == p else '  DIFFERENT'}")
    print(f"revenue cents: kehu {summary['revenue_cents']} python {py['revenue_cents']}")
    for name in ("mean_p_alive", "expected_purchases_total", "clv_total"):
        k, p = summary[name], py[name]
        print(f"{name}: kehu {k:.6f} python {p:.6f} rel. diff {abs(k - p) / abs(p):.2e}")
    print()
    print(f"identical class counts and score distributions: {same}")


if __name__ == "__main__":
    main()
