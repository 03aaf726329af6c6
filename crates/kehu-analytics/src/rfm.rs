//! RFM scores by rank, the named RFM segments, and the ABC (Pareto) classes.

use serde::Serialize;

/// Rank-based quintile scores: `values[i]` of customer i, `id_rank[i]` its position in
/// customer-id order. `worse(a, b)` says whether value a is worse than b.
///
/// Customers are ranked 1..n from worst to best (ties: lower id first, i.e. ranked
/// worse); score = ⌊(rank − 1)·5 / n⌋ + 1.
fn scores_by_rank<T: Copy + Ord>(values: &[T], id_rank: &[u32]) -> Vec<u8> {
    let n = values.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_unstable_by_key(|&i| (values[i as usize], id_rank[i as usize]));
    let mut scores = vec![0_u8; n];
    for (position, &i) in order.iter().enumerate() {
        scores[i as usize] = (position * 5 / n) as u8 + 1;
    }
    scores
}

/// R, F and M scores (1–5, 5 best) of every customer.
#[derive(Clone, Debug, Default)]
pub struct Scores {
    pub r: Vec<u8>,
    pub f: Vec<u8>,
    pub m: Vec<u8>,
}

/// Scores from recency in days (larger is worse), orders and revenue in cents.
pub fn rfm_scores(
    recency_days: &[i32],
    orders: &[u32],
    revenue_cents: &[i64],
    id_rank: &[u32],
) -> Scores {
    // Worst first: the largest recency comes first, so rank on the negated value.
    let negated: Vec<i64> = recency_days.iter().map(|&d| -i64::from(d)).collect();
    Scores {
        r: scores_by_rank(&negated, id_rank),
        f: scores_by_rank(orders, id_rank),
        m: scores_by_rank(revenue_cents, id_rank),
    }
}

/// Named RFM segments; the table in the crate docs gives the rule of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// 重要价值客户
    Champions,
    /// 忠诚客户
    Loyal,
    /// 潜在忠诚客户
    PotentialLoyalist,
    /// 新客户
    New,
    /// 有希望的客户
    Promising,
    /// 需要关注的客户
    NeedAttention,
    /// 即将流失的客户
    AboutToSleep,
    /// 不能失去的客户
    CantLose,
    /// 有流失风险的客户
    AtRisk,
    /// 休眠客户
    Hibernating,
    /// 已流失客户
    Lost,
}

impl Segment {
    pub const ALL: [Segment; 11] = [
        Segment::Champions,
        Segment::Loyal,
        Segment::PotentialLoyalist,
        Segment::New,
        Segment::Promising,
        Segment::NeedAttention,
        Segment::AboutToSleep,
        Segment::CantLose,
        Segment::AtRisk,
        Segment::Hibernating,
        Segment::Lost,
    ];

    /// The first matching row of the segment table.
    pub fn from_scores(r: u8, f: u8, m: u8) -> Segment {
        match (r, f, m) {
            (4.., 4.., 4..) => Segment::Champions,
            (3.., 4.., _) => Segment::Loyal,
            (4.., 2..=3, _) => Segment::PotentialLoyalist,
            (5, _, _) => Segment::New,
            (4, _, _) => Segment::Promising,
            (3, 2..=3, _) => Segment::NeedAttention,
            (3, _, _) => Segment::AboutToSleep,
            (..=2, 4.., 4..) => Segment::CantLose,
            (..=2, 3..=5, _) => Segment::AtRisk,
            (2, _, _) => Segment::Hibernating,
            _ => Segment::Lost,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Champions => "champions",
            Segment::Loyal => "loyal",
            Segment::PotentialLoyalist => "potential_loyalist",
            Segment::New => "new",
            Segment::Promising => "promising",
            Segment::NeedAttention => "need_attention",
            Segment::AboutToSleep => "about_to_sleep",
            Segment::CantLose => "cant_lose",
            Segment::AtRisk => "at_risk",
            Segment::Hibernating => "hibernating",
            Segment::Lost => "lost",
        }
    }
}

/// ABC (Pareto) class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Abc {
    A,
    B,
    C,
}

impl Abc {
    pub fn as_str(self) -> &'static str {
        match self {
            Abc::A => "A",
            Abc::B => "B",
            Abc::C => "C",
        }
    }
}

/// ABC classes: customers by revenue descending (ties: lower id first); with the running
/// revenue including the customer, A while ≤ 80 % of the total, B while ≤ 95 %, else C.
/// Compared exactly in integer cents (running·100 ≤ 80·total).
pub fn abc_classes(revenue_cents: &[i64], id_rank: &[u32]) -> Vec<Abc> {
    let n = revenue_cents.len();
    let total: i128 = revenue_cents.iter().map(|&c| i128::from(c)).sum();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_unstable_by_key(|&i| {
        (
            std::cmp::Reverse(revenue_cents[i as usize]),
            id_rank[i as usize],
        )
    });
    let mut classes = vec![Abc::C; n];
    let mut running: i128 = 0;
    for &i in &order {
        running += i128::from(revenue_cents[i as usize]);
        classes[i as usize] = if running * 100 <= total * 80 {
            Abc::A
        } else if running * 100 <= total * 95 {
            Abc::B
        } else {
            Abc::C
        };
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_the_rank_rule_with_ties_broken_by_id() {
        // Seven customers; ids in index order. Orders: ties at 2 between customers 1 and 4.
        let id_rank: Vec<u32> = (0..7).collect();
        let orders = [5, 2, 9, 1, 2, 7, 3];
        // Worst → best: 3(1), 1(2), 4(2), 6(3), 0(5), 5(7), 2(9); ranks 1..7.
        // score = ⌊(rank−1)·5/7⌋+1: ranks 1..7 → 1,1,2,3,3,4,5
        let s = scores_by_rank(&orders, &id_rank);
        assert_eq!(s, vec![3, 1, 5, 1, 2, 4, 3]);
    }

    #[test]
    fn tie_break_follows_the_id_order_not_the_input_order() {
        // Same values; customer 0 has the larger id, so it ranks better (higher).
        let s = scores_by_rank(&[4, 4], &[1, 0]);
        assert_eq!(s, vec![3, 1]);
    }

    #[test]
    fn recency_score_is_higher_for_fewer_days_since_the_last_purchase() {
        let id_rank: Vec<u32> = (0..5).collect();
        let s = rfm_scores(&[100, 0, 50, 50, 10], &[1; 5], &[0; 5], &id_rank);
        assert_eq!(s.r, vec![1, 5, 2, 3, 4]);
        // All orders tie: the score is the id order.
        assert_eq!(s.f, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn abc_boundaries_are_inclusive_and_exact_in_cents() {
        // Total 10000: 8000 reaches exactly 80 % → A; +1500 reaches exactly 95 % → B; rest C.
        let id_rank: Vec<u32> = (0..3).collect();
        assert_eq!(
            abc_classes(&[1500, 8000, 500], &id_rank),
            vec![Abc::B, Abc::A, Abc::C]
        );
        // One cent more in the first customer's share tips it over 80 %.
        assert_eq!(
            abc_classes(&[8001, 1499, 500], &id_rank),
            vec![Abc::B, Abc::B, Abc::C]
        );
    }

    #[test]
    fn abc_ties_go_to_the_lower_id_first() {
        // Two equal customers each 40 % plus 20 %: both A (40, 80 %), third 100 % → C.
        let classes = abc_classes(&[400, 400, 200], &[1, 0, 2]);
        assert_eq!(classes, vec![Abc::A, Abc::A, Abc::C]);
        // 45/45/10: the lower id (customer 1) gets A, the other B.
        let classes = abc_classes(&[450, 450, 100], &[1, 0, 2]);
        assert_eq!(classes, vec![Abc::B, Abc::A, Abc::C]);
    }

    #[test]
    fn every_score_combination_has_exactly_the_segment_of_the_table() {
        assert_eq!(Segment::from_scores(5, 5, 5), Segment::Champions);
        assert_eq!(Segment::from_scores(4, 4, 3), Segment::Loyal);
        assert_eq!(Segment::from_scores(3, 5, 5), Segment::Loyal);
        assert_eq!(Segment::from_scores(5, 2, 1), Segment::PotentialLoyalist);
        assert_eq!(Segment::from_scores(5, 1, 5), Segment::New);
        assert_eq!(Segment::from_scores(4, 1, 1), Segment::Promising);
        assert_eq!(Segment::from_scores(3, 3, 1), Segment::NeedAttention);
        assert_eq!(Segment::from_scores(3, 1, 5), Segment::AboutToSleep);
        assert_eq!(Segment::from_scores(1, 5, 4), Segment::CantLose);
        assert_eq!(Segment::from_scores(2, 4, 2), Segment::AtRisk);
        assert_eq!(Segment::from_scores(2, 2, 5), Segment::Hibernating);
        assert_eq!(Segment::from_scores(1, 1, 1), Segment::Lost);
        let mut seen = std::collections::HashSet::new();
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    seen.insert(Segment::from_scores(r, f, m));
                }
            }
        }
        assert_eq!(seen.len(), Segment::ALL.len(), "every segment is reachable");
    }
}
