//! The order module's domain: products (产品), stock rows (库存) and orders (订单) with their
//! lines, as parsed values, and the order's workflow. Input from a form, the API or an import
//! is text ([`ProductInput`], [`StockInput`], [`OrderInput`]); the `parse` constructors
//! normalise it (full-width folded, whitespace collapsed), check it and report every bad field
//! at once by a Fluent key. Money and quantities are exact ([`Money`], [`Quantity`]).

use chrono::NaiveDate;
use kehu_customers::domain::{line, memo, normalize, opt_line};
use kehu_domain::error::Errors;
use kehu_domain::money::{Money, Quantity};
use kehu_domain::{DomainError, FieldError};
use serde::{Deserialize, Serialize};

/// The longest product name, in characters (a list cursor carries it).
pub const NAME_MAX: usize = 80;
/// The longest model, grade, warehouse or location.
pub const CODE_MAX: usize = 64;
/// The longest unit (个, 台, kg, 箱 …).
pub const UNIT_MAX: usize = 16;
/// The longest delivery address.
pub const ADDRESS_MAX: usize = 200;
/// The most lines on one order.
pub const LINES_MAX: usize = 200;

fn money(field: &str, input: &str) -> Result<Option<Money>, FieldError> {
    Money::parse(field, &normalize(input))
}

fn required<T>(field: &str, v: Result<Option<T>, FieldError>) -> Result<T, FieldError> {
    v?.ok_or_else(|| FieldError::new(field, "err-required"))
}

/// A record id typed as text (`"42"`); empty is `err-required`.
fn id(field: &str, input: &str) -> Result<i64, FieldError> {
    let s = normalize(input);
    if s.is_empty() {
        return Err(FieldError::new(field, "err-required"));
    }
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| FieldError::new(field, "err-invalid"))
}

/// The parsed value, or (remembering the error in `e`) a placeholder never used.
fn take<T: Default>(e: &mut Errors, r: Result<T, FieldError>) -> T {
    e.check(r).unwrap_or_default()
}

/// A product's fields as entered (a form's fields, an import's columns, the API's strings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProductInput {
    pub name: String,
    /// 型号.
    pub model: String,
    /// 等级/批次.
    pub grade: String,
    /// 单位.
    pub unit: String,
    /// Yuan, at most two places.
    pub price: String,
    pub cost: String,
    pub memo: String,
}

/// A product (产品) ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    pub name: String,
    /// Empty when the product has none.
    pub model: String,
    pub grade: Option<String>,
    pub unit: String,
    /// The list price (单价).
    pub price: Money,
    /// The cost (成本), for margins; unknown is `None`.
    pub cost: Option<Money>,
    pub memo: Option<String>,
}

impl NewProduct {
    pub fn parse(i: &ProductInput) -> Result<Self, DomainError> {
        let mut e = Errors::new();
        let p = Self {
            name: take(&mut e, line("name", &i.name, NAME_MAX)),
            model: take(&mut e, opt_line("model", &i.model, CODE_MAX)).unwrap_or_default(),
            grade: take(&mut e, opt_line("grade", &i.grade, CODE_MAX)),
            unit: take(&mut e, line("unit", &i.unit, UNIT_MAX)),
            price: take(&mut e, required("price", money("price", &i.price))),
            cost: take(&mut e, money("cost", &i.cost)),
            memo: take(&mut e, memo("memo", &i.memo)),
        };
        e.finish()?;
        Ok(p)
    }
}

/// A stock row's fields as entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StockInput {
    pub product_id: String,
    /// 仓库.
    pub warehouse: String,
    /// 货位.
    pub location: String,
    pub quantity: String,
    pub memo: String,
}

/// A stock row (库存): how much of a product lies at a warehouse's location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStock {
    pub product_id: i64,
    pub warehouse: String,
    /// Empty when the warehouse has no locations.
    pub location: String,
    /// Zero or more.
    pub quantity: Quantity,
    pub memo: Option<String>,
}

/// A quantity in stock: zero or more, at most three places.
fn stock_quantity(input: &str) -> Result<Quantity, FieldError> {
    required(
        "quantity",
        Quantity::parse_non_negative("quantity", &normalize(input)),
    )
}

impl NewStock {
    pub fn parse(i: &StockInput) -> Result<Self, DomainError> {
        let mut e = Errors::new();
        let s = Self {
            product_id: take(&mut e, id("product_id", &i.product_id)),
            warehouse: take(&mut e, line("warehouse", &i.warehouse, CODE_MAX)),
            location: take(&mut e, opt_line("location", &i.location, CODE_MAX)).unwrap_or_default(),
            quantity: take(&mut e, stock_quantity(&i.quantity)),
            memo: take(&mut e, memo("memo", &i.memo)),
        };
        e.finish()?;
        Ok(s)
    }
}

/// One order line as entered. An empty price takes the product's list price.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LineInput {
    pub product_id: String,
    pub quantity: String,
    pub price: String,
}

impl LineInput {
    /// A line left blank in a form (every field empty): not a line.
    pub fn is_blank(&self) -> bool {
        [&self.product_id, &self.quantity, &self.price]
            .iter()
            .all(|s| s.trim().is_empty())
    }
}

/// An order's fields as entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderInput {
    pub customer_id: String,
    /// `YYYY-MM-DD`; may lie in the past (orders are entered after the fact).
    pub date: String,
    pub delivery_address: String,
    pub memo: String,
    pub lines: Vec<LineInput>,
}

/// One parsed order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub product_id: i64,
    pub quantity: Quantity,
    /// `None`: the product's list price when the order is stored.
    pub price: Option<Money>,
}

/// An order (订单) ready to store: the store adds the number, the status (`placed`), each
/// line's product name, unit and total, and the order's total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub customer_id: i64,
    pub date: NaiveDate,
    pub delivery_address: Option<String>,
    pub memo: Option<String>,
    pub lines: Vec<NewLine>,
}

/// The field name of a line's field, as forms and the API name it: `lines[0].quantity`.
pub fn line_field(i: usize, field: &str) -> String {
    format!("lines[{i}].{field}")
}

fn order_date(input: &str, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    let s = normalize(input);
    if s.is_empty() {
        return Err(FieldError::new("date", "err-required"));
    }
    let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map_err(|_| FieldError::new("date", "err-date"))?;
    if d > today {
        return Err(FieldError::new("date", "err-order-date-future"));
    }
    Ok(d)
}

impl NewOrder {
    /// Parses `i`; `today` (in the configured time zone) bounds the date: an order is entered
    /// when placed or later, never ahead. Blank lines are left out; at least one line.
    pub fn parse(i: &OrderInput, today: NaiveDate) -> Result<Self, DomainError> {
        let mut e = Errors::new();
        let customer_id = take(&mut e, id("customer_id", &i.customer_id));
        let date = e.check(order_date(&i.date, today));
        let delivery_address = take(
            &mut e,
            opt_line("delivery_address", &i.delivery_address, ADDRESS_MAX),
        );
        let memo = take(&mut e, memo("memo", &i.memo));
        let mut lines = Vec::new();
        for (n, l) in i.lines.iter().enumerate() {
            if l.is_blank() {
                continue;
            }
            let f = |name: &str| line_field(n, name);
            let product_id = e.check(id(&f("product_id"), &l.product_id));
            let qf = f("quantity");
            let quantity = e.check(required(&qf, Quantity::parse(&qf, &normalize(&l.quantity))));
            let price = e.check(money(&f("price"), &l.price));
            if let (Some(product_id), Some(quantity), Some(price)) = (product_id, quantity, price) {
                lines.push(NewLine {
                    product_id,
                    quantity,
                    price,
                });
            }
        }
        if i.lines.iter().all(LineInput::is_blank) {
            e.push(FieldError::new("lines", "err-order-lines"));
        } else if i.lines.len() > LINES_MAX {
            e.push(FieldError::new("lines", "err-order-lines-too-many"));
        }
        e.finish()?;
        Ok(Self {
            customer_id,
            date: date.unwrap_or(today),
            delivery_address,
            memo,
            lines,
        })
    }
}

/// An order's status (订单状态): placed (已下单) → delivered (已发货) or cancelled (已取消).
/// Only a placed order moves; delivered and cancelled are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Placed,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: &'static [OrderStatus] = &[
        OrderStatus::Placed,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.code() == code)
    }

    /// Cancelling (取消订单): only a placed order.
    pub fn cancel(self) -> Result<Self, DomainError> {
        match self {
            OrderStatus::Placed => Ok(OrderStatus::Cancelled),
            _ => Err(DomainError::NotAllowed("err-order-not-placed")),
        }
    }

    /// Delivering (发货): only a placed order.
    pub fn deliver(self) -> Result<Self, DomainError> {
        match self {
            OrderStatus::Placed => Ok(OrderStatus::Delivered),
            _ => Err(DomainError::NotAllowed("err-order-not-placed")),
        }
    }

    /// Whether the order counts as one the customer placed (for `last_order_at`).
    pub fn counts(self) -> bool {
        self != OrderStatus::Cancelled
    }
}

impl std::str::FromStr for OrderStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::from_code(s).ok_or_else(|| "one of placed, delivered, cancelled".to_owned())
    }
}

/// An order number (订单编号): `DD`, the day it was entered (`yyyymmdd`) and that day's
/// sequence in six digits, `DD20261123000042`: unique, like the customer code.
pub fn order_number(day: NaiveDate, seq: i64) -> String {
    format!("DD{}{seq:06}", day.format("%Y%m%d"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn fields(r: Result<impl std::fmt::Debug, DomainError>) -> Vec<(String, String)> {
        match r {
            Err(DomainError::Invalid(f)) => f.into_iter().map(|f| (f.field, f.code)).collect(),
            other => unreachable!("expected field errors, got {other:?}"),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn a_product_needs_a_name_a_unit_and_a_price_in_fen() {
        let got = fields(NewProduct::parse(&ProductInput {
            price: "12.345".into(),
            cost: "-1".into(),
            ..ProductInput::default()
        }));
        let want = [
            ("name", "err-required"),
            ("unit", "err-required"),
            ("price", "err-money"),
            ("cost", "err-money"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(f, c)| (f.to_string(), c.to_string()))
            .collect();
        assert_eq!(got, want);
        let p = NewProduct::parse(&ProductInput {
            name: " 激光打印机 ".into(),
            model: "ＨＰ－１０２０".into(),
            unit: "台".into(),
            price: "1,299.5".into(),
            ..ProductInput::default()
        })
        .unwrap();
        assert_eq!(p.name, "激光打印机");
        assert_eq!(p.model, "HP-1020");
        assert_eq!(p.price.fen(), 129_950);
        assert_eq!(p.cost, None);
    }

    #[test]
    fn stock_may_be_zero_but_not_negative() {
        let row = |q: &str| {
            NewStock::parse(&StockInput {
                product_id: "1".into(),
                warehouse: "广州一号仓".into(),
                quantity: q.into(),
                ..StockInput::default()
            })
        };
        assert_eq!(row("0").unwrap().quantity.milli(), 0);
        assert_eq!(row("0.000").unwrap().quantity.milli(), 0);
        assert_eq!(row("12.5").unwrap().quantity.milli(), 12_500);
        assert_eq!(
            fields(row("-1")),
            [("quantity".to_owned(), "err-quantity".to_owned())]
        );
    }

    #[test]
    fn an_order_names_each_bad_line_field_and_skips_blank_lines() {
        let input = OrderInput {
            customer_id: "7".into(),
            date: "2026-11-24".into(),
            lines: vec![
                LineInput {
                    product_id: "1".into(),
                    quantity: "-2".into(),
                    price: "abc".into(),
                },
                LineInput::default(),
            ],
            ..OrderInput::default()
        };
        let got = fields(NewOrder::parse(&input, today()));
        let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["date", "lines[0].quantity", "lines[0].price"]);
        assert_eq!(got[0].1, "err-order-date-future");

        let none = OrderInput {
            customer_id: "7".into(),
            date: "2020-01-01".into(),
            lines: vec![LineInput::default()],
            ..OrderInput::default()
        };
        assert_eq!(
            fields(NewOrder::parse(&none, today())),
            [("lines".to_owned(), "err-order-lines".to_owned())]
        );
    }

    #[test]
    fn a_past_order_parses_with_exact_quantities() {
        let o = NewOrder::parse(
            &OrderInput {
                customer_id: "7".into(),
                date: "2024-02-29".into(),
                delivery_address: " 广州市 天河区 ".into(),
                lines: vec![LineInput {
                    product_id: "3".into(),
                    quantity: "1.125".into(),
                    price: String::new(),
                }],
                ..OrderInput::default()
            },
            today(),
        )
        .unwrap();
        assert_eq!(o.date.to_string(), "2024-02-29");
        assert_eq!(o.delivery_address.as_deref(), Some("广州市 天河区"));
        assert_eq!(o.lines[0].quantity.milli(), 1125);
        assert_eq!(o.lines[0].price, None);
    }

    #[test]
    fn only_a_placed_order_is_cancelled_or_delivered() {
        use OrderStatus::*;
        assert_eq!(Placed.cancel().unwrap(), Cancelled);
        assert_eq!(Placed.deliver().unwrap(), Delivered);
        assert!(Cancelled.cancel().is_err());
        assert!(Delivered.cancel().is_err());
        assert!(Cancelled.deliver().is_err());
        assert!(!Cancelled.counts() && Delivered.counts());
    }

    #[test]
    fn order_numbers_are_the_prefix_the_day_and_a_sequence() {
        assert_eq!(order_number(today(), 42), "DD20261123000042");
    }
}
