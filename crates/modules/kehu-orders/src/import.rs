//! Importing products (产品导入) and orders (订单导入) on the kit's import runner
//! (`kehu_web::import`): the columns a file may have (by field name or zh-CN / English title),
//! how a row becomes a [`NewProduct`] or an order line, and how a batch is stored.
//!
//! Products are the same when name and model are. An order file has one row per order line;
//! the rows of one order number become one order (rows without a number: one order per
//! customer, date and delivery address). The customer is found by code or name, the product
//! by name and model or by id. An order number already stored is a duplicate, and so is an
//! order without a number when one of its customer, date and address has its lines: `skip` leaves
//! it, `update` puts the rows' lines on it (a line per product: a product it has takes the
//! row's quantity and price), `create` places a new order under a new number. Each order is
//! stored like one placed through the API: audited, in the customer's history, and the
//! customer's `last_order_at` kept.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use kehu_customers::domain::{normalize, opt_line};
use kehu_customers::import::spec;
use kehu_customers::store::customers_by_code_or_name;
use kehu_domain::policy::OwnerFilter;
use kehu_domain::{DomainError, FieldError};
use kehu_io::{FieldSpec, HeaderMap};
use kehu_store::StoreError;
use kehu_store::audit::Actor;
use kehu_store::db::Tx;
use kehu_web::import::{ImportRows, OnDuplicate, Outcome, Pending};

use crate::domain::{LineInput, NewOrder, NewProduct, OrderInput, ProductInput};
use crate::products::{Product, create_product_in, products_named_in, update_product_in};
use crate::store::{Order, OrderStore};

/// The columns of a product file.
pub fn product_fields() -> Vec<FieldSpec> {
    vec![
        spec("name", "field-product-name", &["产品", "品名", "product"]).required(),
        spec("model", "field-model", &["规格型号", "规格"]),
        spec(
            "grade",
            "field-grade",
            &["等级", "批次", "grade/batch", "batch"],
        ),
        spec("unit", "field-unit", &["计量单位"]).required(),
        spec("price", "field-price", &["单价", "价格"]).required(),
        spec("cost", "field-cost", &["成本"]),
        spec("memo", "field-memo", &[]),
    ]
}

/// The columns of an order file (one row per order line).
pub fn order_fields() -> Vec<FieldSpec> {
    vec![
        spec(
            "number",
            "field-number",
            &["订单号", "单号", "order_number"],
        ),
        spec(
            "customer",
            "field-customer-id",
            &["客户编号", "客户名称", "customer_code", "customer_name"],
        )
        .required(),
        spec("date", "field-date", &["日期", "下单日期", "order_date"]).required(),
        spec("delivery_address", "field-delivery-address", &["收货地址"]),
        spec(
            "product",
            "field-product-name",
            &["产品", "品名", "product_name"],
        ),
        spec("model", "field-model", &["规格型号", "规格"]),
        spec("product_id", "import-field-product-id", &[]),
        spec("quantity", "field-quantity", &["qty"]).required(),
        spec("price", "field-price", &["单价", "价格"]),
        spec("memo", "field-memo", &[]),
    ]
}

/// A cell of `field`, or empty.
fn cell<'a>(map: &HeaderMap, cells: &'a [String], field: &str) -> &'a str {
    map.value(cells, field).unwrap_or_default()
}

fn invalid(e: DomainError) -> Vec<FieldError> {
    match e {
        DomainError::Invalid(f) => f,
        DomainError::NotAllowed(code) => vec![FieldError::new("number", code)],
        _ => vec![FieldError::new("number", "err-invalid")],
    }
}

/// The product import: [`ImportRows`] for the runner.
pub struct ProductImport {
    actor: Actor,
    fields: Vec<FieldSpec>,
}

impl ProductImport {
    pub fn new(actor: Actor) -> Self {
        Self {
            actor,
            fields: product_fields(),
        }
    }
}

impl ImportRows for ProductImport {
    type Row = NewProduct;

    fn tables(&self) -> &'static [&'static str] {
        &["products"]
    }

    fn fields(&self) -> &[FieldSpec] {
        &self.fields
    }

    fn parse(&self, map: &HeaderMap, cells: &[String]) -> Result<NewProduct, Vec<FieldError>> {
        let get = |field: &str| cell(map, cells, field).to_owned();
        let input = ProductInput {
            name: get("name"),
            model: get("model"),
            grade: get("grade"),
            unit: get("unit"),
            price: get("price"),
            cost: get("cost"),
            memo: get("memo"),
        };
        NewProduct::parse(&input).map_err(invalid)
    }

    async fn commit(
        &self,
        tx: &mut Tx,
        rows: &[Pending<NewProduct>],
        on_duplicate: OnDuplicate,
    ) -> Result<Vec<Outcome>, StoreError> {
        let names: Vec<String> = rows
            .iter()
            .map(|p| p.row.name.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        // Name and model → the first stored product with them (the lowest id).
        let mut known: HashMap<(String, String), Product> = HashMap::new();
        let mut stored = products_named_in(tx, &names).await?;
        stored.sort_by_key(|p| p.id);
        for p in stored {
            known.entry((p.name.clone(), p.model.clone())).or_insert(p);
        }
        let mut outcomes = Vec::with_capacity(rows.len());
        for p in rows {
            let d = &p.row;
            let key = (d.name.clone(), d.model.clone());
            let outcome = match (known.get(&key), on_duplicate) {
                (Some(_), OnDuplicate::Skip) => Outcome::Skipped,
                (Some(before), OnDuplicate::Update) => {
                    let after = update_product_in(tx, before, d, &self.actor).await?;
                    known.insert(key, after);
                    Outcome::Updated
                }
                _ => {
                    let created = create_product_in(tx, d, &self.actor).await?;
                    known.entry(key).or_insert(created);
                    Outcome::Imported
                }
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}

/// How a row names its product.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ProductRef {
    Id(i64),
    /// Name and model (empty: any model, when one product has the name).
    Named(String, String),
}

/// One order line of a file, parsed: the order it belongs to and the line.
#[derive(Debug)]
pub struct LineRow {
    number: Option<String>,
    customer: String,
    product: ProductRef,
    /// The order with this row's line; its customer and the line's product are placeholders
    /// until the batch finds them.
    order: NewOrder,
}

/// The order import: [`ImportRows`] for the runner.
pub struct OrderImport {
    store: OrderStore,
    scope: OwnerFilter,
    actor: Actor,
    fields: Vec<FieldSpec>,
    /// The orders this run created: rows of their numbers in a later batch are more lines.
    created: Mutex<HashSet<i64>>,
}

impl OrderImport {
    pub fn new(store: OrderStore, scope: OwnerFilter, actor: Actor) -> Self {
        Self {
            store,
            scope,
            actor,
            fields: order_fields(),
            created: Mutex::new(HashSet::new()),
        }
    }

    fn created_here(&self, id: i64) -> bool {
        self.created.lock().is_ok_and(|c| c.contains(&id))
    }

    fn remember(&self, id: i64) {
        if let Ok(mut c) = self.created.lock() {
            c.insert(id);
        }
    }
}

/// The name of a line's field as the file has it: `lines[0].quantity` → `quantity`.
fn row_field(mut e: FieldError) -> FieldError {
    if let Some((_, field)) = e.field.split_once("].") {
        e.field = field.to_owned();
    }
    e
}

fn product_ref(map: &HeaderMap, cells: &[String]) -> Result<ProductRef, FieldError> {
    let id = normalize(cell(map, cells, "product_id"));
    if !id.is_empty() {
        return id
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(ProductRef::Id)
            .ok_or_else(|| FieldError::new("product_id", "err-invalid"));
    }
    let name = normalize(cell(map, cells, "product"));
    if name.is_empty() {
        return Err(FieldError::new("product", "err-required"));
    }
    Ok(ProductRef::Named(
        name,
        normalize(cell(map, cells, "model")),
    ))
}

impl ImportRows for OrderImport {
    type Row = LineRow;

    fn tables(&self) -> &'static [&'static str] {
        &["orders", "order_lines"]
    }

    fn fields(&self) -> &[FieldSpec] {
        &self.fields
    }

    fn parse(&self, map: &HeaderMap, cells: &[String]) -> Result<LineRow, Vec<FieldError>> {
        let get = |field: &str| cell(map, cells, field).to_owned();
        let mut errors = Vec::new();
        let number = opt_line("number", &get("number"), 16)
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        let customer = normalize(&get("customer"));
        if customer.is_empty() {
            errors.push(FieldError::new("customer", "err-required"));
        }
        let product = product_ref(map, cells).map_err(|e| errors.push(e)).ok();
        // The order's own checks (date not ahead of today, quantity, price, address), on a
        // one-line order whose ids are filled in at commit.
        let input = OrderInput {
            customer_id: "1".into(),
            date: get("date"),
            delivery_address: get("delivery_address"),
            memo: get("memo"),
            lines: vec![LineInput {
                product_id: "1".into(),
                quantity: get("quantity"),
                price: get("price"),
            }],
        };
        let order = NewOrder::parse(&input, self.store.today())
            .map_err(|e| errors.extend(invalid(e).into_iter().map(row_field)))
            .ok();
        match (order, product) {
            (Some(order), Some(product)) if errors.is_empty() => Ok(LineRow {
                number,
                customer,
                product,
                order,
            }),
            _ => Err(errors),
        }
    }

    async fn commit(
        &self,
        tx: &mut Tx,
        rows: &[Pending<LineRow>],
        on_duplicate: OnDuplicate,
    ) -> Result<Vec<Outcome>, StoreError> {
        let mut outcomes = vec![Outcome::Imported; rows.len()];
        let customers = self.customers(tx, rows).await?;
        let products = self.products(tx, rows).await?;
        // Each row's customer and product, or why not.
        let mut resolved: Vec<Option<(i64, i64)>> = Vec::with_capacity(rows.len());
        for (i, p) in rows.iter().enumerate() {
            let found = customers
                .find(&p.row.customer)
                .and_then(|c| Ok((c, products.find(&p.row.product)?)));
            match found {
                Ok(ids) => resolved.push(Some(ids)),
                Err(e) => {
                    outcomes[i] = Outcome::Rejected(vec![e]);
                    resolved.push(None);
                }
            }
        }
        // The orders of the batch: by number, else by customer, date and address.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for (i, p) in rows.iter().enumerate() {
            let Some((customer, _)) = resolved[i] else {
                continue;
            };
            let o = &p.row.order;
            let key = match &p.row.number {
                Some(n) => format!("n:{n}"),
                None => format!(
                    "c:{customer}:{}:{}",
                    o.date,
                    o.delivery_address.as_deref().unwrap_or_default()
                ),
            };
            let at = *by_key.entry(key).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[at].push(i);
        }
        let numbers: Vec<String> = rows.iter().filter_map(|p| p.row.number.clone()).collect();
        let stored: HashMap<String, Order> = OrderStore::by_numbers_in(tx, &numbers)
            .await?
            .into_iter()
            .map(|o| (o.number.clone(), o))
            .collect();
        // What the orders without a number may repeat: their customers' orders of their days.
        let (mut unnumbered, mut days) = (Vec::new(), Vec::new());
        for (p, r) in rows.iter().zip(&resolved) {
            if let (None, Some((customer, _))) = (&p.row.number, r) {
                unnumbered.push(*customer);
                days.push(p.row.order.date);
            }
        }
        unnumbered.sort_unstable();
        unnumbered.dedup();
        days.sort_unstable();
        days.dedup();
        let same_day = OrderStore::on_days_in(tx, &unnumbered, &days).await?;
        for group in groups {
            let first = &rows[group[0]].row;
            let Some((customer, _)) = resolved[group[0]] else {
                continue;
            };
            let mut members = Vec::with_capacity(group.len());
            let mut lines = Vec::with_capacity(group.len());
            for &i in &group {
                match resolved[i] {
                    Some((c, product)) if c == customer => {
                        let mut line = rows[i].row.order.lines[0].clone();
                        line.product_id = product;
                        lines.push(line);
                        members.push(i);
                    }
                    _ => outcomes[i] = differs(),
                }
            }
            let order = NewOrder {
                customer_id: customer,
                lines,
                ..first.order.clone()
            };
            let existing = match &first.number {
                Some(n) => stored.get(n),
                // Without a number: the order this run began with these rows' customer, date
                // and address (its other lines came in an earlier batch), or one stored with
                // them that has these lines (the file imported again).
                None => same_day.iter().find(|o| {
                    o.customer_id == customer
                        && o.order_date == order.date
                        && o.delivery_address == order.delivery_address
                        && (self.created_here(o.id) || has_lines(o, &order))
                }),
            };
            let outcome = match existing {
                Some(o) if o.customer_id != customer => differs(),
                Some(o) if self.created_here(o.id) || on_duplicate == OnDuplicate::Update => {
                    let mine = self.created_here(o.id);
                    // The stored order as it is now (an earlier group may have changed it).
                    let before = <Order as kehu_store::write::Record>::load(tx, o.id).await?;
                    match self
                        .store
                        .merge_lines_in(tx, &before, &order, &self.actor)
                        .await
                    {
                        Ok(_) if mine => Outcome::Imported,
                        Ok(_) => Outcome::Updated,
                        Err(StoreError::Domain(e)) => refused(e),
                        Err(e) => return Err(e),
                    }
                }
                Some(_) if on_duplicate == OnDuplicate::Skip => Outcome::Skipped,
                _ => {
                    // A number already taken (`create`) gets the next number of today.
                    let number = first.number.as_deref().filter(|_| existing.is_none());
                    match self.store.create_in(tx, &order, number, &self.actor).await {
                        Ok(o) => {
                            self.remember(o.id);
                            Outcome::Imported
                        }
                        Err(StoreError::Domain(e)) => refused(e),
                        Err(e) => return Err(e),
                    }
                }
            };
            for i in members {
                outcomes[i] = outcome.clone();
            }
        }
        Ok(outcomes)
    }
}

/// Whether `stored` has each of `new`'s lines (product and quantity, and the price where the
/// row gave one): the rows of an order imported again, maybe split across batches.
fn has_lines(stored: &Order, new: &NewOrder) -> bool {
    let mut left: Vec<_> = stored.lines.iter().collect();
    new.lines.iter().all(|l| {
        let at = left.iter().position(|s| {
            s.product_id == l.product_id
                && s.quantity() == l.quantity
                && l.price.is_none_or(|p| p == s.price())
        });
        at.map(|i| left.swap_remove(i)).is_some()
    })
}

fn differs() -> Outcome {
    Outcome::Rejected(vec![FieldError::new(
        "customer",
        "err-import-order-customer-differs",
    )])
}

fn refused(e: DomainError) -> Outcome {
    Outcome::Rejected(invalid(e).into_iter().map(row_field).collect())
}

/// The customers a batch names, by code and by name.
struct Customers {
    by_code: HashMap<String, i64>,
    by_name: HashMap<String, Vec<i64>>,
}

impl Customers {
    fn find(&self, reference: &str) -> Result<i64, FieldError> {
        if let Some(id) = self.by_code.get(&reference.to_ascii_uppercase()) {
            return Ok(*id);
        }
        match self.by_name.get(reference).map(Vec::as_slice) {
            Some([id]) => Ok(*id),
            Some(_) => Err(FieldError::new("customer", "err-import-customer-ambiguous")),
            None => Err(FieldError::new("customer", "err-import-customer-unknown")),
        }
    }
}

/// The products a batch names, by id and by name and model.
struct Products {
    ids: HashSet<i64>,
    by_name: HashMap<String, Vec<Product>>,
}

impl Products {
    fn find(&self, reference: &ProductRef) -> Result<i64, FieldError> {
        let unknown = |field: &str| FieldError::new(field, "err-import-product-unknown");
        match reference {
            ProductRef::Id(id) if self.ids.contains(id) => Ok(*id),
            ProductRef::Id(_) => Err(unknown("product_id")),
            ProductRef::Named(name, model) => {
                let named = self
                    .by_name
                    .get(name)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let same: Vec<&Product> = named.iter().filter(|p| &p.model == model).collect();
                match (same.as_slice(), named) {
                    ([p], _) => Ok(p.id),
                    ([], [p]) if model.is_empty() => Ok(p.id),
                    ([], _) => Err(unknown("product")),
                    _ => Err(FieldError::new("product", "err-import-product-ambiguous")),
                }
            }
        }
    }
}

impl OrderImport {
    async fn customers(
        &self,
        tx: &mut Tx,
        rows: &[Pending<LineRow>],
    ) -> Result<Customers, StoreError> {
        let names: Vec<String> = rows
            .iter()
            .map(|p| p.row.customer.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let codes: Vec<String> = names.iter().map(|r| r.to_ascii_uppercase()).collect();
        let mut out = Customers {
            by_code: HashMap::new(),
            by_name: HashMap::new(),
        };
        for c in customers_by_code_or_name(tx, self.scope, &codes, &names).await? {
            out.by_code.insert(c.code.clone(), c.id);
            let ids = out.by_name.entry(c.name.clone()).or_default();
            if !ids.contains(&c.id) {
                ids.push(c.id);
            }
        }
        Ok(out)
    }

    async fn products(
        &self,
        tx: &mut Tx,
        rows: &[Pending<LineRow>],
    ) -> Result<Products, StoreError> {
        let mut names = HashSet::new();
        let mut ids = HashSet::new();
        for p in rows {
            match &p.row.product {
                ProductRef::Named(name, _) => {
                    names.insert(name.clone());
                }
                ProductRef::Id(id) => {
                    ids.insert(*id);
                }
            }
        }
        let names: Vec<String> = names.into_iter().collect();
        let mut out = Products {
            ids: HashSet::new(),
            by_name: HashMap::new(),
        };
        for p in products_named_in(tx, &names).await? {
            out.by_name.entry(p.name.clone()).or_default().push(p);
        }
        for id in ids {
            match crate::products::product_in(tx, id, "product_id").await {
                Ok(_) => {
                    out.ids.insert(id);
                }
                Err(StoreError::Domain(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}
