//! The demo company's services (`kehu demo --services N`): consultations, complaints and
//! suggestions its account managers took from their own customers, each carried as far as a
//! real one would be by now — some still new for the supervisor to assign, some with their
//! handler, some handled and waiting for the customer's word, most archived; complaints with
//! every step recorded, a few reopened once because the customer was not satisfied the first
//! time. Generated from a seed (the same seed gives the same services) and played through the
//! store as people would click, so every change is audited and every notice sent.

use std::collections::HashMap;

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
use crate::store::{ServiceStore, acting};

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

/// Plays `n` services through `store`, from a seed.
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
    // Each manager's customers (the first 200 by name): a request is taken by the customer's
    // own manager.
    let mut pools = Vec::new();
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
        let ids: Vec<i64> = customers
            .list(OwnerFilter::system(), &f, req)
            .await?
            .items
            .into_iter()
            .map(|c| c.id)
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
    for i in 0..n {
        let (taker, ids) = pools.choose(&mut rng).cloned().unwrap_or_default();
        let customer = ids.choose(&mut rng).copied().unwrap_or_default();
        let (kind, title, request) = REQUESTS.choose(&mut rng).copied().unwrap_or(REQUESTS[0]);
        let end = ENDS
            .choose_weighted(&mut rng, |(_, w)| *w)
            .map(|(s, _)| *s)
            .unwrap_or(Status::Archived);
        let priority = ["low", "normal", "normal", "high", "urgent"]
            .choose(&mut rng)
            .copied()
            .unwrap_or("normal");
        let input = ServiceInput {
            service_type: kind.into(),
            title: title.into(),
            customer_id: customer.to_string(),
            channel: ["phone", "email", "online_chat", "visit"]
                .choose(&mut rng)
                .copied()
                .unwrap_or("phone")
                .into(),
            request: request.into(),
            priority: priority.into(),
            ..ServiceInput::default()
        };
        let d = ServiceDraft::parse(&input, &dict)?;
        let mut s = store.create(&who(taker)?, &d).await?;
        let complaint = s.is_complaint();
        loaded.complaints += u64::from(complaint);
        if end != Status::New && s.assignee_id.is_none() {
            let handler = *staff.managers.choose(&mut rng).unwrap_or(&taker);
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
                result: if satisfied {
                    "客户确认问题已解决，表示满意。".into()
                } else {
                    "客户认为处理不彻底，仍不满意。".into()
                },
                satisfaction: if satisfied {
                    rng.random_range(3..=5).to_string()
                } else {
                    rng.random_range(1..=2).to_string()
                },
            })?;
            s = store.feedback(&who(taker)?, s.id, &fb, None).await?;
            loaded.reopened += u64::from(!satisfied);
        }
        let at = Status::ALL
            .iter()
            .position(|x| *x == s.status())
            .unwrap_or(0);
        loaded.by_status[at] += 1;
        loaded.services += 1;
        progress(i + 1);
    }
    Ok(loaded)
}

/// How a service of `kind` was handled.
fn handling(kind: &str) -> &'static str {
    match kind {
        "complaint" => "已按审批的方案处理完毕，并回访客户说明。",
        "suggestion" => "建议已转产品与服务部门评估，已向客户致谢并说明后续安排。",
        _ => "已电话答复客户，并邮件发送了相关资料。",
    }
}
