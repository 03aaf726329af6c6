//! The demo company's sales opportunities (`kehu demo --opportunities N`): leads from trade
//! fairs, the website, referrals … over the past two years, each in the state its age makes
//! likely — the newest still unassigned with the sales supervisor who entered them, then given
//! to account managers, developed along plans of dated to-dos (results recorded, some
//! overdue), and the older ones closed as won or lost. Generated from a seed (the same seed
//! gives the same pipeline); every opportunity's entries go through
//! [`OpportunityDraft::parse`] as a form's do, then a batch at a time into the tables around
//! the workflow (audited as the system's), so a million load in minutes. The first won ones of
//! a run close through the store, which creates their customers as a click on "won" does; the
//! later ones are linked to customers their manager already has.

use std::collections::HashMap;

use chrono::{DateTime, Days, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use kehu_customers::store::{CustomerFilter, CustomerStore};
use kehu_domain::policy::OwnerFilter;
use kehu_store::PageRequest;
use kehu_store::audit::Actor;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::domain::{OpportunityDraft, OpportunityInput, Status};
use crate::plan::{self, PlanItem};
use crate::store::{self, Acting, Opportunity, OpportunityStore, Won};

/// How far back the demo's opportunities go.
const SPAN_DAYS: u64 = 730;

/// What the prospects are to buy (the demo company deals in office equipment).
const TITLES: &[&str] = &[
    "会议平板采购",
    "办公打印设备集中采购",
    "全员办公椅更换",
    "网络交换机升级改造",
    "年度办公耗材框架协议",
    "新办公区整体配置",
    "投影设备更新",
    "人脸识别考勤系统建设",
    "档案室文件柜采购",
    "分公司办公设备配置",
    "复印纸年度供货",
    "多功能会议室改造",
];

const DESCRIPTIONS: &[&str] = &[
    "客户计划下季度搬入新办公楼，需要整体采购方案。",
    "对方采购部主动询价，预算已获批。",
    "老客户推荐，决策人为行政总监。",
    "客户现有设备老化，希望分批更换。",
    "需提供样机试用，并比较两家供应商的报价。",
    "客户关注售后响应时间和账期。",
];

/// (to-do, its result when carried out): a development plan's steps.
const STEPS: &[(&str, &str)] = &[
    (
        "电话联系采购负责人，了解需求",
        "已确认采购数量和预算，约定下周拜访。",
    ),
    ("上门拜访并演示产品", "客户对演示效果满意，要求提供报价。"),
    (
        "发送正式报价单",
        "客户认为价格偏高，希望在批量采购上给予折扣。",
    ),
    (
        "邀请客户参观展厅",
        "客户技术负责人到访，重点了解了售后服务。",
    ),
    ("安排样机试用", "试用两周，反馈稳定，用户评价良好。"),
    ("提交技术方案", "方案已通过客户技术部门评审。"),
    ("商务谈判", "双方就价格和账期达成初步一致。"),
    ("合同条款确认", "法务已审核合同，等待客户盖章。"),
];

/// Why lost opportunities were lost.
const LOSS_REASONS: &[&str] = &[
    "价格原因：客户选择了报价更低的供应商。",
    "被竞争对手抢走：对方给出了更长的账期。",
    "客户预算取消，采购计划暂停。",
    "产品参数不符合客户的技术要求。",
    "客户经营困难，项目无限期推迟。",
    "决策人更换，新负责人倾向原有供应商。",
];

/// ((currency, yuan per unit), weight): most deals are in yuan.
const CURRENCIES: &[((&str, f64), u32)] = &[
    (("CNY", 1.0), 93),
    (("USD", 7.2), 4),
    (("EUR", 7.8), 2),
    (("HKD", 0.92), 1),
];

/// The status mix by age: the newest leads are mostly waiting to be assigned, a year-old one
/// is mostly decided. Over two years spread evenly this comes to about 15 % unassigned, 20 %
/// assigned, 35 % developing, 18 % won and 12 % lost.
fn status_weights(age_days: u64) -> [(Status, u32); 5] {
    let w = match age_days {
        0..120 => [60, 30, 10, 0, 0],
        120..400 => [13, 30, 45, 7, 5],
        _ => [0, 8, 35, 33, 24],
    };
    let s = Status::ALL;
    [
        (s[0], w[0]),
        (s[1], w[1]),
        (s[2], w[2]),
        (s[3], w[3]),
        (s[4], w[4]),
    ]
}

/// One generated opportunity: its entries as a person would type them, and what has happened
/// to it since.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOpportunity {
    pub input: OpportunityInput,
    pub status: Status,
    /// Which of the account managers it was given to (an index), once assigned.
    pub manager: Option<usize>,
    pub created_at: DateTime<Utc>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<&'static str>,
    pub plan: Vec<DemoPlanItem>,
}

/// A plan item of a [`DemoOpportunity`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoPlanItem {
    pub date: NaiveDate,
    pub todo: &'static str,
    pub result: Option<&'static str>,
    /// When it was written into the plan, and when its result was (or the same).
    pub written_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The generator: deterministic for a seed and a moment.
pub struct Demo {
    rng: StdRng,
    prospects: kehu_customers::demo::Demo,
    now: DateTime<Utc>,
    zone: FixedOffset,
    managers: usize,
}

impl Demo {
    /// Opportunities up to `now` (days in `zone`), given to `managers` account managers.
    pub fn new(seed: u64, now: DateTime<Utc>, zone: FixedOffset, managers: usize) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            // The prospects' names come from a seed of their own, so they are other companies
            // than the demo's customers (of the same seed) as a rule.
            prospects: kehu_customers::demo::Demo::new(seed ^ 0x5a1e_5a1e),
            now,
            zone,
            managers: managers.max(1),
        }
    }

    fn today(&self) -> NaiveDate {
        self.now.with_timezone(&self.zone).date_naive()
    }

    /// A moment of working hours on `day`, not after now.
    fn during(&mut self, day: NaiveDate) -> DateTime<Utc> {
        let time = NaiveTime::from_hms_opt(
            self.rng.random_range(9..18),
            self.rng.random_range(0..60),
            self.rng.random_range(0..60),
        )
        .unwrap_or_default();
        let at = self
            .zone
            .from_local_datetime(&day.and_time(time))
            .earliest()
            .map_or(self.now, |t| t.with_timezone(&Utc));
        at.min(self.now)
    }

    /// Opportunity `i` of `n` (`n` spread over two years, the first the oldest: ids grow with
    /// time, as in a real database); `k` numbers the prospect.
    pub fn opportunity(&mut self, i: u64, n: u64, k: u64) -> DemoOpportunity {
        let n = n.max(1);
        let age = (n - 1 - i.min(n - 1)) * SPAN_DAYS / n;
        let today = self.today();
        let created_day = today - Days::new(age);
        let created_at = self.during(created_day);
        let status = weighted(&mut self.rng, &status_weights(age));
        let p = self.prospects.customer(k);
        let contact = p.contacts.first();
        let (currency, per_unit) = weighted(&mut self.rng, CURRENCIES);
        let amount = (!(status == Status::Unassigned && self.rng.random_bool(0.15))).then(|| {
            let yuan = self
                .rng
                .random_range(5_000f64.ln()..3_000_000f64.ln())
                .exp()
                / per_unit;
            // Whole hundreds of the currency.
            ((yuan / 100.0).round().max(1.0) * 100.0) as i64
        });
        let rate = match status {
            Status::Unassigned => self.rng.random_range(1..=3),
            Status::Assigned => self.rng.random_range(2..=5),
            Status::Developing => self.rng.random_range(3..=8),
            Status::Success => self.rng.random_range(6..=9),
            Status::Failure => self.rng.random_range(1..=5),
        } * 10;
        let title = *pick(&mut self.rng, TITLES);
        let title = if self.rng.random_bool(0.3) {
            format!("{}年{title}", created_day.format("%Y"))
        } else {
            title.to_owned()
        };
        let description = if self.rng.random_bool(0.5) {
            (*pick(&mut self.rng, DESCRIPTIONS)).to_owned()
        } else {
            String::new()
        };
        let close = created_day + Days::new(self.rng.random_range(30..=180));
        let input = OpportunityInput {
            title,
            prospect_name: p.name,
            source: p.source.into(),
            success_rate: rate.to_string(),
            contact_name: contact.map(|c| c.name.clone()).unwrap_or_default(),
            contact_phone: contact.map(|c| c.mobile.clone()).unwrap_or_default(),
            description,
            expected_amount: amount.map(|a| a.to_string()).unwrap_or_default(),
            currency: currency.into(),
            expected_close_date: close.to_string(),
        };
        let mut o = DemoOpportunity {
            input,
            status,
            manager: None,
            created_at,
            assigned_at: None,
            closed_at: None,
            failure_reason: None,
            plan: Vec::new(),
        };
        if status != Status::Unassigned {
            self.develop(&mut o, today);
        }
        o
    }

    /// Assigns `o`, and plans, carries out and closes it as far as its status says.
    fn develop(&mut self, o: &mut DemoOpportunity, today: NaiveDate) {
        o.manager = Some(self.rng.random_range(0..self.managers));
        let created_day = o.created_at.with_timezone(&self.zone).date_naive();
        let assigned_day = (created_day + Days::new(self.rng.random_range(0..=5))).min(today);
        let assigned_at = self.during(assigned_day).max(o.created_at);
        o.assigned_at = Some(assigned_at);
        if o.status == Status::Assigned {
            return;
        }
        let closed = o.status.is_closed();
        // An open development's plan is about now: some items done, some overdue, some ahead.
        let mut day = if closed {
            assigned_day + Days::new(self.rng.random_range(1..=5))
        } else {
            assigned_day.max(today - Days::new(45)) + Days::new(self.rng.random_range(1..=10))
        };
        let steps = self.rng.random_range(1..=4usize);
        let first = self.rng.random_range(0..STEPS.len());
        for s in 0..steps {
            if closed && day >= today {
                break;
            }
            let (todo, result) = STEPS[(first + s) % STEPS.len()];
            let done = day < today
                && match o.status {
                    Status::Success => true,
                    Status::Failure => s + 1 < steps || self.rng.random_bool(0.5),
                    _ => self.rng.random_bool(0.7),
                };
            let written_at = assigned_at.max(self.during(day - Days::new(3)));
            let updated_at = if done {
                self.during(day).max(written_at)
            } else {
                written_at
            };
            o.plan.push(DemoPlanItem {
                date: day,
                todo,
                result: done.then_some(result),
                written_at,
                updated_at,
            });
            day = day + Days::new(self.rng.random_range(3..=21));
        }
        if closed {
            let last = o.plan.last().map_or(assigned_day, |p| p.date);
            let closed_day = (last + Days::new(self.rng.random_range(1..=10))).min(today);
            o.closed_at = Some(self.during(closed_day).max(assigned_at));
            if o.status == Status::Failure {
                o.failure_reason = Some(*pick(&mut self.rng, LOSS_REASONS));
            }
        }
    }
}

/// Who the demo's opportunities belong to.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The sales supervisor who enters the leads and assigns them.
    pub supervisor: i64,
    /// The account managers they are given to.
    pub managers: Vec<i64>,
}

/// What [`load`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    pub opportunities: u64,
    /// By status, in the order of `Status::ALL`.
    pub by_status: [u64; 5],
    pub plan_items: u64,
    /// Plan items with a result recorded.
    pub results: u64,
    /// Plan items past their day without a result.
    pub overdue: u64,
    /// Customers the won opportunities became (through the store).
    pub customers_created: u64,
    /// Won opportunities linked to a customer their manager had.
    pub customers_linked: u64,
}

/// Opportunities per transaction of [`load`].
const BATCH: usize = 5_000;
/// Won opportunities of one run that close through the store, each creating its customer
/// (one transaction each, as the click does); the rest link customers their manager has.
const WON_THROUGH_STORE: u64 = 100;
/// The customers of each manager that later won opportunities are linked to.
const POOL: u64 = 200;

/// An opportunity of a batch, parsed and placed, with its plan.
struct Placed {
    row: Opportunity,
    plan: Vec<DemoPlanItem>,
    /// To close through the store after the batch is written (it is written as developing).
    win: bool,
}

/// Loads `n` opportunities of seed `seed` (continuing after the opportunities there are, so a
/// second run adds more), entered by `staff.supervisor` and given to `staff.managers`, with
/// their plans; then recounts the pipeline's totals. `progress` hears the count after each
/// batch.
pub async fn load(
    store: &OpportunityStore,
    staff: &Staff,
    seed: u64,
    n: u64,
    zone: FixedOffset,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Loaded> {
    anyhow::ensure!(
        !staff.managers.is_empty(),
        "no account managers to give demo opportunities to"
    );
    let first: i64 = store
        .pipeline(OwnerFilter::system())
        .await?
        .iter()
        .map(|t| t.count)
        .sum();
    let first = u64::try_from(first).unwrap_or(0);
    let customers = CustomerStore::new(store.db().clone(), zone);
    let dict = customers.dictionary().await?;
    let mut pools: HashMap<i64, Vec<i64>> = HashMap::new();
    for &m in &staff.managers {
        let f = CustomerFilter {
            owner_id: Some(m),
            ..CustomerFilter::default()
        };
        let page = customers
            .list(
                OwnerFilter::system(),
                &f,
                PageRequest::new(None, Some(POOL)),
            )
            .await?;
        pools.insert(m, page.items.into_iter().map(|c| c.id).collect());
    }
    let now = Utc::now();
    let today = now.with_timezone(&zone).date_naive();
    let mut demo = Demo::new(seed.wrapping_add(first), now, zone, staff.managers.len());
    let actor = Actor::system();
    let closer = Acting {
        scope: OwnerFilter::system(),
        actor: Actor::system(),
        supervisor: true,
    };
    let mut loaded = Loaded::default();
    let mut batch: Vec<Placed> = Vec::with_capacity(BATCH);
    let mut to_win = WON_THROUGH_STORE;
    for i in 0..n {
        let d = demo.opportunity(i, n, first + i);
        let draft = OpportunityDraft::parse(&d.input, &dict)
            .map_err(|e| anyhow::anyhow!("demo opportunity {i} does not parse: {e:?}"))?;
        let manager = d.manager.map(|m| staff.managers[m % staff.managers.len()]);
        let win = d.status == Status::Success && to_win > 0;
        let customer_id = match (d.status, manager) {
            (Status::Success, Some(m)) if !win => pools
                .get(&m)
                .filter(|p| !p.is_empty())
                .map(|p| p[(i as usize) % p.len()]),
            _ => None,
        };
        let status = if win { Status::Developing } else { d.status };
        let row = row(&draft, &d, status, staff.supervisor, manager, customer_id);
        to_win -= u64::from(win);
        let k = Status::ALL.iter().position(|s| *s == d.status).unwrap_or(0);
        loaded.by_status[k] += 1;
        loaded.customers_linked += u64::from(customer_id.is_some());
        for p in &d.plan {
            loaded.results += u64::from(p.result.is_some());
            loaded.overdue += u64::from(p.result.is_none() && p.date < today);
        }
        loaded.plan_items += d.plan.len() as u64;
        batch.push(Placed {
            row,
            plan: d.plan,
            win,
        });
        // The last won one to close through the store ends its batch, so the customers it and
        // the ones before make are there for the next won ones to link.
        if batch.len() == BATCH || i + 1 == n || (win && to_win == 0) {
            let won = write_batch(store, &batch, &actor).await?;
            for id in won {
                let (opportunity, customer) = close_won(store, &closer, id).await?;
                if let Some((manager, c)) = opportunity.assignee_id.zip(customer) {
                    pools.entry(manager).or_default().push(c);
                    loaded.customers_created += 1;
                }
            }
            loaded.opportunities += batch.len() as u64;
            progress(loaded.opportunities);
            batch.clear();
        }
    }
    store.rebuild_totals().await?;
    store
        .db()
        .vacuum(&["opportunities", "plan_items", "opportunity_totals"])
        .await?;
    Ok(loaded)
}

/// The stored row of `d`, as the workflow would have left it in `status`.
fn row(
    draft: &OpportunityDraft,
    d: &DemoOpportunity,
    status: Status,
    supervisor: i64,
    manager: Option<i64>,
    customer_id: Option<i64>,
) -> Opportunity {
    Opportunity {
        id: 0,
        title: draft.title.clone(),
        prospect_name: draft.prospect_name.clone(),
        source: draft.source.clone(),
        success_rate: draft.success_rate,
        contact_name: draft.contact_name.clone(),
        contact_phone: draft.contact_phone.as_ref().map(|p| p.as_str().to_owned()),
        description: draft.description.clone(),
        expected_amount: draft.expected_amount.map(|m| m.fen()),
        currency: draft.currency.clone(),
        expected_close_date: draft.expected_close_date,
        status: status.code().to_owned(),
        owner_id: manager.unwrap_or(supervisor),
        owner_name: String::new(),
        assignee_id: manager,
        assigned_at: d.assigned_at,
        failure_reason: d.failure_reason.map(str::to_owned),
        customer_id,
        closed_at: if status.is_closed() {
            d.closed_at
        } else {
            None
        },
        created_at: d.created_at,
        created_by: Some(supervisor),
        updated_at: d.closed_at.or(d.assigned_at).unwrap_or(d.created_at),
        version: 1,
    }
}

/// Writes one batch and its plans in one transaction: the ids of the opportunities to close
/// through the store.
async fn write_batch(
    store: &OpportunityStore,
    batch: &[Placed],
    actor: &Actor,
) -> anyhow::Result<Vec<i64>> {
    let rows: Vec<Opportunity> = batch.iter().map(|p| p.row.clone()).collect();
    let won = store
        .db()
        .write(async |tx| {
            let ids = store::insert_many(tx, &rows, actor).await?;
            let mut items = Vec::new();
            for (p, id) in batch.iter().zip(&ids) {
                let by = p.row.assignee_id.unwrap_or(p.row.owner_id);
                for item in &p.plan {
                    let stored = PlanItem {
                        id: 0,
                        opportunity_id: *id,
                        date: item.date,
                        todo: item.todo.to_owned(),
                        result: item.result.map(str::to_owned),
                        created_at: item.written_at,
                        updated_at: item.updated_at,
                        version: if item.result.is_some() { 2 } else { 1 },
                    };
                    items.push((stored, by));
                }
            }
            plan::insert_many(tx, &items, actor).await?;
            Ok(batch
                .iter()
                .zip(ids)
                .filter(|(p, _)| p.win)
                .map(|(_, id)| id)
                .collect())
        })
        .await?;
    Ok(won)
}

/// Closes opportunity `id` as won through the store: its customer is created from it, or
/// when a customer of that name or phone exists already, linked to that one. The
/// opportunity, and the customer it became when one was created.
async fn close_won(
    store: &OpportunityStore,
    closer: &Acting,
    id: i64,
) -> anyhow::Result<(Opportunity, Option<i64>)> {
    match store.succeed(closer, id, None, None).await? {
        Won::Closed(o) => {
            let c = o.customer_id;
            Ok((*o, c))
        }
        Won::Exists(same) => {
            let link = same.first().map(|(c, _, _)| *c);
            match store.succeed(closer, id, link, None).await? {
                Won::Closed(o) => Ok((*o, None)),
                Won::Exists(_) => anyhow::bail!("opportunity {id} could not be closed"),
            }
        }
    }
}

fn pick<'a, T>(rng: &mut StdRng, from: &'a [T]) -> &'a T {
    // The tables above are constant and not empty.
    from.choose(rng).unwrap_or(&from[0])
}

/// A value of `table` by its weight.
fn weighted<T: Copy>(rng: &mut StdRng, table: &[(T, u32)]) -> T {
    // The tables above are constant, not empty and weigh something.
    table
        .choose_weighted(rng, |(_, w)| *w)
        .unwrap_or(&table[0])
        .0
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn demo(seed: u64) -> Demo {
        let now = DateTime::parse_from_rfc3339("2026-03-02T10:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        Demo::new(seed, now, FixedOffset::east_opt(8 * 3600).unwrap(), 4)
    }

    /// The seeded dictionary's values, as a fresh database holds them.
    fn dict() -> kehu_customers::domain::DictValues {
        kehu_customers::domain::DictValues::new(
            kehu_domain::dictionary::seed().map(|(kind, _, _, value, _)| (kind, value)),
        )
    }

    #[test]
    fn the_same_seed_gives_the_same_pipeline() {
        let (mut a, mut b) = (demo(7), demo(7));
        for i in 0..50 {
            assert_eq!(a.opportunity(i, 50, i), b.opportunity(i, 50, i));
        }
        assert_ne!(demo(8).opportunity(0, 50, 0), demo(7).opportunity(0, 50, 0));
    }

    #[test]
    fn every_opportunity_parses_and_the_mix_is_a_pipelines() {
        let mut d = demo(2026);
        let n = 5_000;
        let mut counts: HashMap<&str, u64> = HashMap::new();
        let mut currencies: HashSet<String> = HashSet::new();
        let today = d.today();
        let mut previous = None;
        for i in 0..n {
            let o = d.opportunity(i, n, i);
            OpportunityDraft::parse(&o.input, &dict())
                .unwrap_or_else(|e| panic!("{i}: {e:?} {:?}", o.input));
            *counts.entry(o.status.code()).or_default() += 1;
            currencies.insert(o.input.currency.clone());
            // Oldest first, over two years.
            let day = o.created_at.date_naive();
            assert!(previous.is_none_or(|p| p <= day + Days::new(1)));
            previous = Some(day);
            match o.status {
                Status::Unassigned => assert!(o.manager.is_none() && o.plan.is_empty()),
                Status::Assigned => assert!(o.manager.is_some() && o.plan.is_empty()),
                _ => assert!((1..=4).contains(&o.plan.len()), "{o:?}"),
            }
            if o.status == Status::Success {
                assert!(o.plan.iter().all(|p| p.result.is_some()), "{o:?}");
            }
            assert_eq!(o.status.is_closed(), o.closed_at.is_some());
            assert_eq!(o.status == Status::Failure, o.failure_reason.is_some());
            assert!(o.assigned_at.is_none_or(|a| a >= o.created_at));
            assert!(o.closed_at.is_none_or(|c| Some(c) >= o.assigned_at));
            for p in &o.plan {
                assert!(p.result.is_none() || p.date < today, "{p:?}");
            }
        }
        let share = |s: &str| counts.get(s).copied().unwrap_or(0) as f64 / n as f64;
        for (s, want) in [
            ("unassigned", 0.15),
            ("assigned", 0.20),
            ("developing", 0.35),
            ("success", 0.18),
            ("failure", 0.12),
        ] {
            assert!((share(s) - want).abs() < 0.03, "{s}: {counts:?}");
        }
        assert!(currencies.contains("CNY") && currencies.len() > 1);
    }
}
