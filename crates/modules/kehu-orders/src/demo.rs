//! The demo company's history (`kehu demo`): a product catalogue with stock in two warehouses,
//! and for each customer given two years of orders (older ones delivered, a few cancelled) and
//! interactions (calls, visits, meetings …), generated from a seed and stored through the
//! stores as the forms' entries are (audited as the system's, in each customer's history).

use chrono::{Days, NaiveTime, TimeZone, Utc};
use kehu_customers::activities::{ActivityDraft, ActivityStore};
use kehu_domain::money::Quantity;
use kehu_domain::policy::OwnerFilter;
use kehu_store::audit::Actor;
use kehu_store::page::PageRequest;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::domain::{NewLine, NewOrder, NewProduct, NewStock, OrderStatus, ProductInput};
use crate::products::{ProductFilter, ProductStore};
use crate::store::{OrderStore, Step};

/// (name, model, unit, price, cost): what a small office-equipment dealer sells.
const CATALOGUE: &[(&str, &str, &str, &str, &str)] = &[
    ("激光打印机", "LP-2200", "台", "2380.00", "1650.00"),
    ("A4复印纸", "70g-500张", "箱", "135.00", "98.00"),
    ("人体工学办公椅", "OC-80", "把", "560.00", "320.00"),
    ("会议平板", "MB-65", "台", "8999.00", "6200.00"),
    ("投影仪", "PJ-450", "台", "3680.00", "2500.00"),
    ("碎纸机", "SD-12", "台", "899.00", "520.00"),
    ("硒鼓", "TN-2200", "个", "268.00", "150.00"),
    ("钢制文件柜", "FC-4", "组", "1280.00", "760.00"),
    ("人脸识别考勤机", "AT-30", "台", "699.00", "400.00"),
    ("千兆网络交换机", "SW-24G", "台", "1580.00", "1050.00"),
];

/// (warehouse, location prefix)
const WAREHOUSES: &[(&str, &str)] = &[("上海总仓", "A"), ("广州分仓", "B")];

/// (channel, title, description)
const INTERACTIONS: &[(&str, &str, &str)] = &[
    (
        "phone",
        "电话回访",
        "确认上批货物到货及安装情况，客户反馈良好。",
    ),
    (
        "visit",
        "上门拜访",
        "拜访采购负责人，介绍新款会议平板，约定下月演示。",
    ),
    (
        "meeting",
        "年度合作洽谈",
        "与客户管理层商谈年度框架协议及付款账期。",
    ),
    (
        "email",
        "发送报价单",
        "按客户需求发送打印机及耗材的报价单。",
    ),
    (
        "online_chat",
        "微信沟通交货时间",
        "客户询问交货时间，已协调仓库优先发货。",
    ),
    ("phone", "售后问题跟进", "客户反映硒鼓漏粉，已安排更换。"),
    ("visit", "节日走访", "中秋节前走访，赠送礼品，维护关系。"),
    (
        "social_media",
        "新品推送",
        "在企业微信群推送新品信息，客户表示有兴趣。",
    ),
];

/// What [`load_history`] stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History {
    pub products: u64,
    pub orders: u64,
    pub activities: u64,
}

/// The catalogue (when there are no products yet) and two years of orders and interactions
/// for each of `customers`; `progress` hears the number of customers done.
pub async fn load_history(
    orders: &OrderStore,
    products: &ProductStore,
    customers: &[i64],
    seed: u64,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<History> {
    let actor = Actor::system();
    let scope = OwnerFilter::system();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut history = History::default();
    let mut catalogue: Vec<i64> = products
        .list(&ProductFilter::default(), PageRequest::new(None, Some(200)))
        .await?
        .items
        .into_iter()
        .map(|p| p.id)
        .collect();
    if catalogue.is_empty() {
        for (name, model, unit, price, cost) in CATALOGUE {
            let new = NewProduct::parse(&ProductInput {
                name: (*name).into(),
                model: (*model).into(),
                unit: (*unit).into(),
                price: (*price).into(),
                cost: (*cost).into(),
                ..ProductInput::default()
            })?;
            let p = products.create(&new, &actor).await?;
            for (k, (warehouse, shelf)) in WAREHOUSES.iter().enumerate() {
                let stock = NewStock {
                    product_id: p.id,
                    warehouse: (*warehouse).into(),
                    location: format!("{shelf}-{:02}-{:02}", catalogue.len() + 1, k + 1),
                    quantity: quantity(rng.random_range(20..=400)),
                    memo: None,
                };
                products.add_stock(&stock, &actor).await?;
            }
            catalogue.push(p.id);
            history.products += 1;
        }
    }
    let today = orders.today();
    let zone = orders.utc_offset();
    for (done, &customer) in customers.iter().enumerate() {
        let mut placed = Vec::new();
        let mut notes = Vec::new();
        for _ in 0..rng.random_range(0..=6) {
            let date = today - Days::new(rng.random_range(0..730));
            let n = rng.random_range(1..=3usize);
            let lines = catalogue
                .choose_multiple(&mut rng, n)
                .map(|&product_id| NewLine {
                    product_id,
                    quantity: quantity(rng.random_range(1..=20)),
                    price: None,
                })
                .collect();
            placed.push(NewOrder {
                customer_id: customer,
                date,
                delivery_address: None,
                memo: None,
                lines,
            });
        }
        for _ in 0..rng.random_range(1..=5) {
            let (channel, title, description) =
                *INTERACTIONS.choose(&mut rng).unwrap_or(&INTERACTIONS[0]);
            let day = today - Days::new(rng.random_range(0..730));
            let time = NaiveTime::from_hms_opt(rng.random_range(9..18), rng.random_range(0..60), 0)
                .unwrap_or_default();
            let at = zone
                .from_local_datetime(&day.and_time(time))
                .earliest()
                .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
            notes.push(ActivityDraft {
                at,
                channel: channel.into(),
                place: None,
                contact_id: None,
                title: title.into(),
                description: Some(description.into()),
            });
        }
        // Orders over two weeks old were delivered; one in ten of those was cancelled instead.
        let fates: Vec<Option<Step>> = placed
            .iter()
            .map(|o| {
                (today.signed_duration_since(o.date).num_days() > 14).then(|| {
                    if rng.random_bool(0.1) {
                        OrderStatus::cancel as Step
                    } else {
                        OrderStatus::deliver as Step
                    }
                })
            })
            .collect();
        // One transaction per customer: its orders, their fates and its interactions.
        orders
            .db()
            .write(async |tx| {
                for (o, fate) in placed.iter().zip(&fates) {
                    let order = orders.create_in(tx, o, None, &actor).await?;
                    if let Some(step) = fate {
                        orders
                            .transition_in(tx, scope, order.id, order.version, &actor, *step)
                            .await?;
                    }
                }
                for a in &notes {
                    ActivityStore::create_in(tx, scope, customer, a, &actor).await?;
                }
                Ok::<_, kehu_store::StoreError>(())
            })
            .await?;
        history.orders += placed.len() as u64;
        history.activities += notes.len() as u64;
        progress(done as u64 + 1);
    }
    Ok(history)
}

/// A whole number of units.
fn quantity(n: i64) -> Quantity {
    Quantity::from_milli(n * 1000)
}
