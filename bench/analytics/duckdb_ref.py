"""DuckDB anchor for the kehu analytics benchmark: RFM + ABC only, in one SQL statement, with
kehu's definitions (crates/kehu-analytics/src/lib.rs, "Definitions"):

- integer cents from the decimal text (DECIMAL(18,2) * 100);
- as-of = the last day in the file;
- a (customer, day) is a purchase day when it has a line >= 0; recency_days = as-of - last
  purchase day (the last row's day for a customer without one); orders = rows; revenue =
  net cents;
- scores 1-5 by row_number() from worst to best, ties by customer id ascending (numerically
  when every id is an integer, an optional sign and digits, equal numbers like 7 and 07 by
  text; else bytewise): score = (rank-1)*5 // n + 1;
- ABC on the running revenue (revenue descending, ties by id), including the customer:
  A while 100*running <= 80*total, B while <= 95*total, else C.

Writes customer_id,recency_days,orders,revenue_cents,r_score,f_score,m_score,abc to OUT.csv.

usage: duckdb_ref.py TRANSACTIONS.csv OUT.csv [--threads N]
"""

import argparse
import time

import duckdb

SQL = """
COPY (
WITH tx AS (
    SELECT customer_id, date, CAST(amount * 100 AS BIGINT) AS cents
    FROM read_csv(?, header = true, auto_detect = false,
                  columns = {'customer_id': 'VARCHAR', 'date': 'DATE', 'amount': 'DECIMAL(18,2)'})
),
as_of AS (SELECT max(date) AS d FROM tx),
days AS (
    SELECT customer_id, date, count(*) AS n, sum(cents) AS cents, max(cents) >= 0 AS purchase
    FROM tx GROUP BY customer_id, date
),
per AS (
    SELECT customer_id,
           sum(n) AS orders,
           sum(cents) AS revenue_cents,
           coalesce(max(date) FILTER (WHERE purchase), max(date)) AS last_day
    FROM days GROUP BY customer_id
),
ids AS (
    SELECT bool_and(regexp_full_match(customer_id, '[+-]?[0-9]+')
                    AND TRY_CAST(customer_id AS HUGEINT) IS NOT NULL) AS numeric,
           count(*) AS n,
           sum(revenue_cents)::HUGEINT AS total
    FROM per
),
keyed AS (
    SELECT per.*, (SELECT d FROM as_of) - last_day AS recency_days,
           CASE WHEN ids.numeric THEN CAST(customer_id AS HUGEINT) END AS id_num,
           ids.n, ids.total
    FROM per, ids
),
ranked AS (
    SELECT *,
        row_number() OVER (ORDER BY recency_days DESC, id_num, customer_id) AS r_rank,
        row_number() OVER (ORDER BY orders, id_num, customer_id) AS f_rank,
        row_number() OVER (ORDER BY revenue_cents, id_num, customer_id) AS m_rank,
        sum(revenue_cents::HUGEINT) OVER (ORDER BY revenue_cents DESC, id_num, customer_id
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
    FROM keyed
)
SELECT customer_id, recency_days, orders, revenue_cents,
       (r_rank - 1) * 5 // n + 1 AS r_score,
       (f_rank - 1) * 5 // n + 1 AS f_score,
       (m_rank - 1) * 5 // n + 1 AS m_score,
       CASE WHEN running * 100 <= total * 80 THEN 'A'
            WHEN running * 100 <= total * 95 THEN 'B'
            ELSE 'C' END AS abc
FROM ranked
) TO '{out}' (HEADER, DELIMITER ',')
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("transactions")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()
    t0 = time.perf_counter()
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    con.execute("SET preserve_insertion_order = false")
    con.execute(SQL.replace("{out}", args.out.replace("'", "''")), [args.transactions])
    print(f"duckdb RFM+ABC: {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
