//! The demo company's services (`kehu demo --services N`): consultations, complaints and
//! suggestions its account managers took from their own customers, each carried as far as a
//! real one would be by now — some still new for the supervisor to assign, some with their
//! handler, some handled and waiting for the customer's word, most archived; complaints with
//! every step recorded, a few reopened once because the customer was not satisfied the first
//! time. Generated from a seed (the same seed gives the same services). The newest are played
//! through the store as people would click, so every change is audited and every notice
//! sent; a larger run's older ones (two years of them, a million in minutes) are written in
//! batches around the workflow, audited as the system's.

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use kehu_customers::store::{CustomerFilter, CustomerSort, CustomerStore};
use kehu_domain::policy::OwnerFilter;
use kehu_store::audit::Actor;
use kehu_store::page::{Dir, ListRequest, Sort};
use kehu_store::scope::Acting;
use kehu_store::users::UserStore;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::domain::{
    FeedbackDraft, FeedbackInput, ServiceDraft, ServiceInput, Status, StepDraft, StepInput,
};
use crate::sla;
use crate::steps::{self, StepRow};
use crate::store::{self, Service, ServiceStore, acting};

/// Who works the demo's services: the supervisor assigns, the account managers take
/// requests from their customers and handle what they are given.
#[derive(Debug, Clone)]
pub struct Staff {
    pub supervisor: i64,
    pub managers: Vec<i64>,
}

/// What [`load`] did: how many services, by the status they ended in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    pub services: u64,
    /// New, assigned, handled, archived.
    pub by_status: [u64; 4],
    pub complaints: u64,
    pub steps: u64,
    pub reopened: u64,
}

/// (type, title, request): what customers ask, complain about and suggest.
const REQUESTS: &[(&str, &str, &str)] = &[
    (
        "consultation",
        "发票抬头变更",
        "财务询问上月发票抬头能否改为新公司名称，需要哪些材料。",
    ),
    (
        "consultation",
        "打印机耗材型号",
        "行政询问会议室打印机应配哪种硒鼓，能否批量订购。",
    ),
    (
        "consultation",
        "保修期查询",
        "客户询问去年采购的投影仪是否还在保修期内。",
    ),
    (
        "consultation",
        "批量采购折扣",
        "采购部询问一次订购 50 把办公椅能否给予折扣。",
    ),
    (
        "complaint",
        "货物外包装破损",
        "收到的交换机外包装破损，有两台外壳变形，要求换货。",
    ),
    (
        "complaint",
        "送货延误",
        "合同约定周一送达的会议平板周四才到，影响了客户的发布会。",
    ),
    (
        "complaint",
        "安装人员态度差",
        "上门安装的师傅迟到且态度生硬，客户行政很不满意。",
    ),
    (
        "complaint",
        "发票金额错误",
        "开具的发票金额比合同多出 1,200 元，客户要求重开。",
    ),
    (
        "suggestion",
        "增加在线报修",
        "客户建议开通微信报修，减少电话等待。",
    ),
    (
        "suggestion",
        "送货前电话确认",
        "客户建议送货前一天电话确认收货人和时间。",
    ),
];

/// A complaint's steps as its handler and supervisor write them: (step, decision, content).
const STEPS: &[(&str, &str, &str)] = &[
    (
        "validity",
        "true",
        "属实：客户提供了照片和签收单，投诉成立。",
    ),
    ("department", "", "物流部（承运商管理）。"),
    ("cause", "", "承运商装卸不规范，出库时未加固包装。"),
    (
        "resolution",
        "",
        "补发新货，运费由我方承担，并向客户书面致歉。",
    ),
    ("approval", "true", "同意按方案处理，三日内完成。"),
    (
        "execution",
        "",
        "已补发并取回破损件；按合同向承运商索赔，相关责任人通报批评。",
    ),
    ("summary", "", "客户认可处理结果；出库流程增加加固检查。"),
];

/// Where each service ends, by weight: most are archived, some still on their way.
const ENDS: &[(Status, u32)] = &[
    (Status::New, 15),
    (Status::Assigned, 20),
    (Status::Handled, 15),
    (Status::Archived, 50),
];

/// Services of one run played through the store, the newest; the ones before them are
/// written in batches ([`load`]).
pub const PLAYED: u64 = 200;
/// How far back the demo's written services go.
const SPAN_DAYS: i64 = 730;
/// Services per transaction of the written part.
const BATCH: usize = 5_000;

/// An account manager and their customers (id, level): a request is taken by the customer's
/// own manager.
type Pool = (i64, Vec<(i64, Option<String>)>);

/// Loads `n` services from a seed. The newest [`PLAYED`] are played through `store` as people
/// would click (every change audited, every notice sent, complaints reopened once when the
/// customer was not satisfied); the ones before them, when there are more, spread over the
/// past two years oldest first as a real table's are, each in the stage its age makes likely
/// (the old ones archived but for a few forgotten), are written a batch at a time around the
/// workflow with their complaint steps (audited as the system's), so a million load in
/// minutes. `progress` hears the count as it grows.
pub async fn load(
    store: &ServiceStore,
    customers: &CustomerStore,
    users: &UserStore,
    staff: &Staff,
    seed: u64,
    n: u64,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Loaded> {
    anyhow::ensure!(
        !staff.managers.is_empty(),
        "no account managers to take demo services"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    // Each manager's customers (the first 200 by name).
    let mut pools: Vec<Pool> = Vec::new();
    for &m in &staff.managers {
        let f = CustomerFilter {
            owner_id: Some(m),
            ..CustomerFilter::default()
        };
        let req = ListRequest::new(
            Sort::new(CustomerSort::Name, Dir::Asc),
            None,
            kehu_store::PageRequest::new(None, Some(200)),
        );
        let ids: Vec<(i64, Option<String>)> = customers
            .list(OwnerFilter::system(), &f, req)
            .await?
            .items
            .into_iter()
            .map(|c| (c.id, c.level))
            .collect();
        if !ids.is_empty() {
            pools.push((m, ids));
        }
    }
    anyhow::ensure!(
        !pools.is_empty(),
        "the account managers have no customers: load demo customers first"
    );
    let mut loaded = Loaded::default();
    let written = n.saturating_sub(PLAYED);
    if written > 0 {
        let zone = customers.utc_offset();
        write_past(
            store,
            &pools,
            staff,
            &mut rng,
            written,
            zone,
            &mut loaded,
            &mut progress,
        )
        .await?;
    }
    play(
        store,
        users,
        staff,
        &pools,
        &mut rng,
        n - written,
        &mut loaded,
        |k| progress(written + k),
    )
    .await?;
    Ok(loaded)
}

/// Plays `n` services through `store`, as people click, now.
#[allow(clippy::too_many_arguments, reason = "the loader's one helper")]
async fn play(
    store: &ServiceStore,
    users: &UserStore,
    staff: &Staff,
    pools: &[Pool],
    rng: &mut StdRng,
    n: u64,
    loaded: &mut Loaded,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<()> {
    let dict = store.dictionary().await?;
    // Everyone acts as themselves, in their own data scope.
    let mut people = HashMap::new();
    for &id in staff.managers.iter().chain([&staff.supervisor]) {
        let p = users
            .principal(id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("demo user {id} is missing or disabled"))?;
        people.insert(id, p);
    }
    let who = |id: i64| -> anyhow::Result<Acting> {
        let p = people
            .get(&id)
            .ok_or_else(|| anyhow::anyhow!("demo user {id} unknown"))?;
        Ok(acting(
            p,
            Actor::user(p.user_id, &p.username, p.authority()),
        ))
    };
    let boss = who(staff.supervisor)?;
    for i in 0..n {
        let (taker, ids) = pools.choose(rng).cloned().unwrap_or_default();
        let customer = ids.choose(rng).map(|c| c.0).unwrap_or_default();
        let (kind, title, request) = *pick(rng, REQUESTS);
        let end = ENDS
            .choose_weighted(rng, |(_, w)| *w)
            .map(|(s, _)| *s)
            .unwrap_or(Status::Archived);
        let input = ServiceInput {
            service_type: kind.into(),
            title: title.into(),
            customer_id: customer.to_string(),
            channel: (*pick(rng, CHANNELS)).into(),
            request: request.into(),
            priority: (*pick(rng, PRIORITIES)).into(),
            ..ServiceInput::default()
        };
        let d = ServiceDraft::parse(&input, &dict)?;
        let mut s = store.create(&who(taker)?, &d).await?;
        let complaint = s.is_complaint();
        loaded.complaints += u64::from(complaint);
        if end != Status::New && s.assignee_id.is_none() {
            let handler = *staff.managers.choose(rng).unwrap_or(&taker);
            let p = people
                .get(&handler)
                .ok_or_else(|| anyhow::anyhow!("demo user {handler} unknown"))?;
            s = store.assign(&boss, s.id, p, None).await?;
        }
        let handler = s.assignee_id.map(&who).transpose()?;
        let reopen = end == Status::Archived && rng.random_ratio(1, 6);
        let rounds = if reopen { 2 } else { 1 };
        for round in 0..rounds {
            let Some(h) = &handler else { break };
            // A complaint still in handling has taken only its first steps.
            let last = if end == Status::Assigned {
                rng.random_range(0..STEPS.len())
            } else {
                STEPS.len()
            };
            if complaint {
                // A reopened complaint starts again from a new resolution.
                let from = if round == 0 { 0 } else { 3 };
                for &(step, decision, content) in &STEPS[from..last.max(from)] {
                    let d = StepDraft::parse(&StepInput {
                        step: step.into(),
                        content: content.into(),
                        accepted: decision.into(),
                    })?;
                    let by = if step == "approval" { &boss } else { h };
                    store.add_step(by, s.id, &d).await?;
                    loaded.steps += 1;
                }
            }
            if end == Status::Assigned {
                break;
            }
            s = store.handle(h, s.id, handling(kind), None).await?;
            if end == Status::Handled {
                break;
            }
            let satisfied = round + 1 == rounds;
            let fb = FeedbackDraft::parse(&FeedbackInput {
                result: if satisfied { SATISFIED } else { UNSATISFIED }.into(),
                satisfaction: if satisfied {
                    rng.random_range(3..=5).to_string()
                } else {
                    rng.random_range(1..=2).to_string()
                },
            })?;
            s = store.feedback(&who(taker)?, s.id, &fb, None).await?;
            loaded.reopened += u64::from(!satisfied);
        }
        loaded.count(s.status());
        progress(i + 1);
    }
    Ok(())
}

impl Loaded {
    fn count(&mut self, status: Status) {
        let at = Status::ALL.iter().position(|x| *x == status).unwrap_or(0);
        self.by_status[at] += 1;
        self.services += 1;
    }
}

const CHANNELS: &[&str] = &["phone", "email", "online_chat", "visit"];
const PRIORITIES: &[&str] = &["low", "normal", "normal", "high", "urgent"];
const SATISFIED: &str = "客户确认问题已解决，表示满意。";
const UNSATISFIED: &str = "客户认为处理不彻底，仍不满意。";

/// Where a written service of `age` ends, by weight: the last day's mostly still open, a
/// week's half of them, the older ones archived but for a few forgotten.
fn ends_at(age: Duration) -> &'static [(Status, u32)] {
    use Status::{Archived, Assigned, Handled, New};
    if age < Duration::days(1) {
        &[(New, 30), (Assigned, 40), (Handled, 20), (Archived, 10)]
    } else if age < Duration::days(7) {
        &[(New, 3), (Assigned, 25), (Handled, 27), (Archived, 45)]
    } else if age < Duration::days(30) {
        &[(Assigned, 4), (Handled, 10), (Archived, 86)]
    } else {
        &[(Assigned, 1), (Handled, 2), (Archived, 397)]
    }
}

/// A moment `typical` after `from`, but never later than `share` of the way to `until`.
fn after(
    rng: &mut StdRng,
    from: DateTime<Utc>,
    typical: std::ops::Range<i64>,
    until: DateTime<Utc>,
    share: f64,
) -> DateTime<Utc> {
    let minutes = rng.random_range(typical);
    let room = (until - from).num_seconds().max(0) as f64 * share;
    from + Duration::seconds((minutes * 60).min(room as i64))
}

/// Writes `n` services spread over the past [`SPAN_DAYS`] days up to an hour ago, oldest
/// first, [`BATCH`] to a transaction, with their complaints' steps.
#[allow(clippy::too_many_arguments, reason = "the loader's one helper")]
async fn write_past(
    store: &ServiceStore,
    pools: &[Pool],
    staff: &Staff,
    rng: &mut StdRng,
    n: u64,
    zone: FixedOffset,
    loaded: &mut Loaded,
    progress: &mut impl FnMut(u64),
) -> anyhow::Result<()> {
    let now = Utc::now();
    let first = now - Duration::days(SPAN_DAYS);
    let span = (now - Duration::hours(1) - first).num_seconds() as f64;
    // The service level targets of every type and level the demo's customers have.
    let mut kinds: Vec<&str> = REQUESTS.iter().map(|r| r.0).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let mut levels: Vec<Option<String>> = pools
        .iter()
        .flat_map(|(_, c)| c.iter().map(|(_, l)| l.clone()))
        .collect();
    levels.sort();
    levels.dedup();
    let targets: HashMap<(&str, Option<String>), Option<sla::Targets>> = store
        .db()
        .write(async |tx| {
            let mut all = HashMap::new();
            for &k in &kinds {
                for l in &levels {
                    all.insert((k, l.clone()), sla::targets(tx, k, l.as_deref()).await?);
                }
            }
            Ok(all)
        })
        .await?;
    let actor = Actor::system();
    let mut done = 0;
    while done < n {
        let size = (n - done).min(BATCH as u64);
        let mut rows = Vec::with_capacity(size as usize);
        let mut days = Vec::with_capacity(size as usize);
        let mut plans = Vec::with_capacity(size as usize);
        for i in done..done + size {
            let at = first
                + Duration::seconds(((i as f64 + rng.random::<f64>()) / n as f64 * span) as i64);
            let (s, steps) = past(rng, pools, staff, &targets, at, now);
            loaded.count(s.status());
            loaded.complaints += u64::from(s.is_complaint());
            loaded.steps += steps.len() as u64;
            days.push(at.with_timezone(&zone).date_naive());
            rows.push(s);
            plans.push(steps);
        }
        store
            .db()
            .write(async |tx| {
                store::insert_many(tx, &mut rows, &days, &actor).await?;
                let steps: Vec<StepRow> = rows
                    .iter()
                    .zip(&plans)
                    .flat_map(|(s, plan)| {
                        plan.iter().map(|p| StepRow {
                            service_id: s.id,
                            ..p.clone()
                        })
                    })
                    .collect();
                steps::insert_many(tx, &steps, &actor).await
            })
            .await?;
        done += size;
        progress(done);
    }
    store.db().vacuum(&["services", "service_steps"]).await?;
    Ok(())
}

/// A service taken at `at`, as far as its age makes likely by `now`, and its steps (their
/// service's id still to set).
fn past(
    rng: &mut StdRng,
    pools: &[Pool],
    staff: &Staff,
    targets: &HashMap<(&str, Option<String>), Option<sla::Targets>>,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (Service, Vec<StepRow>) {
    let (taker, customers) = pick(rng, pools);
    let (customer, level) = pick(rng, customers).clone();
    let &(kind, title, request) = pick(rng, REQUESTS);
    let status = weighted(rng, ends_at(now - at));
    let due = targets.get(&(kind, level)).copied().flatten();
    let mut s = Service {
        id: 0,
        number: String::new(),
        service_type: kind.into(),
        title: title.into(),
        customer_id: customer,
        customer_code: String::new(),
        customer_name: String::new(),
        contact_id: None,
        channel: Some((*pick(rng, CHANNELS)).into()),
        request: request.into(),
        priority: (*pick(rng, PRIORITIES)).into(),
        status: status.code().into(),
        owner_id: *taker,
        owner_name: String::new(),
        assignee_id: None,
        assignee_name: None,
        assigned_at: None,
        handling: None,
        handled_by: None,
        handled_at: None,
        result: None,
        satisfaction: None,
        feedback_at: None,
        archived_at: None,
        responded_at: None,
        respond_due_at: due.map(|t| t.respond_due(at)),
        resolve_due_at: due.map(|t| t.resolve_due(at)),
        created_at: at,
        created_by: Some(*taker),
        updated_at: at,
        version: 1,
    };
    let mut steps = Vec::new();
    if status == Status::New {
        return (s, steps);
    }
    let handler = *pick(rng, &staff.managers);
    let assigned = after(rng, at, 5..240, now, 0.1);
    s.assignee_id = Some(handler);
    s.assigned_at = Some(assigned);
    let open = status == Status::Assigned;
    let handled = if open {
        None
    } else {
        Some(after(rng, assigned, 60..4_320, now, 0.5))
    };
    if s.is_complaint() {
        // A complaint still in handling has taken only its first steps, spread over half the
        // time it has had; a handled one all of them before its handling.
        let (last, until) = match handled {
            Some(h) => (STEPS.len(), h),
            None => (
                rng.random_range(0..STEPS.len()),
                assigned + (now - assigned) / 2,
            ),
        };
        let gap = (until - assigned) / (STEPS.len() as i32 + 1);
        for (k, &(step, decision, content)) in STEPS[..last].iter().enumerate() {
            steps.push(StepRow {
                id: 0,
                service_id: 0,
                step: step.into(),
                accepted: (!decision.is_empty()).then_some(decision == "true"),
                content: content.into(),
                created_at: assigned + gap * (k as i32 + 1),
                created_by: Some(if step == "approval" {
                    staff.supervisor
                } else {
                    handler
                }),
                created_by_name: None,
                updated_at: assigned,
                version: 1,
            });
        }
    }
    s.responded_at = steps.first().map(|x| x.created_at).or(handled);
    let Some(handled) = handled else {
        return (s, steps);
    };
    s.handling = Some(handling(kind).into());
    s.handled_by = Some(handler);
    s.handled_at = Some(handled);
    if status == Status::Archived {
        let answered = after(rng, handled, 60..2_880, now, 0.5);
        s.result = Some(SATISFIED.into());
        s.satisfaction = Some(rng.random_range(3..=5));
        s.feedback_at = Some(answered);
        s.archived_at = Some(answered);
    }
    (s, steps)
}

fn pick<'a, T>(rng: &mut StdRng, from: &'a [T]) -> &'a T {
    // The tables above are constant and not empty; the pools and managers were checked.
    from.choose(rng).unwrap_or(&from[0])
}

fn weighted<T: Copy>(rng: &mut StdRng, table: &[(T, u32)]) -> T {
    table
        .choose_weighted(rng, |(_, w)| *w)
        .map(|(t, _)| *t)
        .unwrap_or(table[0].0)
}

/// How a service of `kind` was handled.
fn handling(kind: &str) -> &'static str {
    match kind {
        "complaint" => "已按审批的方案处理完毕，并回访客户说明。",
        "suggestion" => "建议已转产品与服务部门评估，已向客户致谢并说明后续安排。",
        _ => "已电话答复客户，并邮件发送了相关资料。",
    }
}
