//! The customer module's migrations (versions 1000–1999). Every list sort and filter has an
//! index that ends in the id (the list kit's tie-breaker), so a filtered, sorted page at a
//! million customers is a range on one index, never a table scan. Never edit a shipped one.

use kehu_store::migrations::{Ddl, Migration, audited, id_col, index, ts, ts_null};
use kehu_store::schema::Users;
use sea_query::{
    ColumnDef, ConditionalStatement, Expr, ExprTrait, ForeignKey, ForeignKeyAction, Index, Table,
};

use crate::schema::{
    Activities, Contacts, CustomerCodes, CustomerRecords, CustomerTags, CustomerValues, Customers,
};

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1000,
        name: "customers",
        build: customers,
    },
    Migration {
        version: 1001,
        name: "customer_filters_by_name",
        build: filters_by_name,
    },
    Migration {
        version: 1002,
        name: "activities",
        build: activities,
    },
    Migration {
        version: 1003,
        name: "customer_duplicate_keys",
        build: duplicate_keys,
    },
    Migration {
        version: 1004,
        name: "customer_status_by_name_dropped",
        build: status_by_name_dropped,
    },
    Migration {
        version: 1005,
        name: "customer_composition",
        build: composition,
    },
    Migration {
        version: 1006,
        name: "customer_values",
        build: values,
    },
];

/// What the customer-value analysis found for each customer (`values.rs`): its filters and
/// lists each read an index ending in the customer (segment, value class, ABC class; the
/// highest lifetime value, the lowest P(alive)).
fn values() -> Vec<Ddl> {
    use CustomerValues as V;
    let t = Table::create()
        .table(V::Table)
        .col(
            ColumnDef::new(V::CustomerId)
                .big_integer()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(V::RunId).big_integer().not_null())
        .col(ColumnDef::new(V::R).small_integer().not_null())
        .col(ColumnDef::new(V::F).small_integer().not_null())
        .col(ColumnDef::new(V::M).small_integer().not_null())
        .col(ColumnDef::new(V::Segment).string_len(24).not_null())
        .col(ColumnDef::new(V::Abc).string_len(1).not_null())
        .col(ColumnDef::new(V::ValueClass).string_len(12).not_null())
        .col(ColumnDef::new(V::Cluster).integer().not_null())
        .col(ColumnDef::new(V::PAlive).integer().not_null())
        .col(ColumnDef::new(V::ExpectedPurchases).double().not_null())
        .col(ColumnDef::new(V::Clv).big_integer().not_null())
        .col(ColumnDef::new(V::Revenue).big_integer().not_null())
        .col(ColumnDef::new(V::Orders).integer().not_null())
        .col(ColumnDef::new(V::LastPurchase).date().null())
        .foreign_key(
            ForeignKey::create()
                .from(V::Table, V::CustomerId)
                .to(Customers::Table, Customers::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    vec![
        Ddl::Table(t),
        index(
            "ix_customer_values_segment",
            V::Table,
            &[&V::Segment, &V::CustomerId],
        ),
        index(
            "ix_customer_values_class",
            V::Table,
            &[&V::ValueClass, &V::CustomerId],
        ),
        index(
            "ix_customer_values_abc",
            V::Table,
            &[&V::Abc, &V::CustomerId],
        ),
        index(
            "ix_customer_values_clv",
            V::Table,
            &[&V::Clv, &V::CustomerId],
        ),
        index(
            "ix_customer_values_p_alive",
            V::Table,
            &[&V::PAlive, &V::CustomerId],
        ),
        index(
            "ix_customer_values_run",
            V::Table,
            &[&V::RunId, &V::CustomerId],
        ),
    ]
}

/// The composition report (客户构成分析) counts customers by level, region, industry (their
/// filters' indexes) and by credit and satisfaction: these two get theirs, so every count is
/// a walk of one index, not of the table.
fn composition() -> Vec<Ddl> {
    use Customers as C;
    vec![
        index("ix_customers_credit", C::Table, &[&C::Credit, &C::Id]),
        index(
            "ix_customers_satisfaction",
            C::Table,
            &[&C::Satisfaction, &C::Id],
        ),
    ]
}

/// The status filter sorted by name goes by the list kit's dense read (a count on
/// `ix_customers_status_created`, then the name index walked, or the few matches sorted)
/// instead of an index of its own: a status moves in bulk (the loss scan warned 287,000 of a
/// million customers at once), and each move rewrote an entry of an index ordered by name, a
/// page anywhere in it: 17.6 s of that scan's 26.5 on SQLite, 2.8 s without it.
fn status_by_name_dropped() -> Vec<Ddl> {
    vec![Ddl::DropIndex(
        Index::drop().name("ix_customers_status_name").to_owned(),
    )]
}

/// What an import looks duplicates up by besides the code and the name (which have their
/// indexes): the customer's phone and the contacts' mobiles and e-mails, so a batch's lookups
/// stay index probes at a million customers.
fn duplicate_keys() -> Vec<Ddl> {
    vec![
        index("ix_customers_phone", Customers::Table, &[&Customers::Phone]),
        index("ix_contacts_mobile", Contacts::Table, &[&Contacts::Mobile]),
        index("ix_contacts_email", Contacts::Table, &[&Contacts::Email]),
    ]
}

/// The filters again with the name after them: measured at a million customers, a filter
/// sorted by name otherwise sorted every match (a second per page on SQLite) instead of
/// reading one range.
fn filters_by_name() -> Vec<Ddl> {
    use Customers as C;
    [
        ("ix_customers_region_name", C::Region),
        ("ix_customers_level_name", C::Level),
        ("ix_customers_industry_name", C::Industry),
        ("ix_customers_status_name", C::Status),
    ]
    .into_iter()
    .map(|(name, col)| index(name, C::Table, &[&col, &C::Name, &C::Id]))
    .collect()
}

fn text(col: Customers, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).null().to_owned()
}

fn customers() -> Vec<Ddl> {
    use Customers as C;
    let mut t = Table::create()
        .table(C::Table)
        .col(id_col(C::Id))
        .col(ColumnDef::new(C::Code).string_len(16).not_null())
        .col(ColumnDef::new(C::Name).string_len(200).not_null())
        .col(ColumnDef::new(C::OwnerId).big_integer().not_null())
        .col(text(C::Region, 64))
        .col(text(C::Level, 64))
        .col(text(C::Industry, 64))
        .col(text(C::Source, 64))
        .col(ColumnDef::new(C::Satisfaction).small_integer().null())
        .col(ColumnDef::new(C::Credit).small_integer().null())
        .col(text(C::Address, 200))
        .col(text(C::Postcode, 10))
        .col(text(C::Phone, 20))
        .col(text(C::Fax, 20))
        .col(text(C::Website, 200))
        .col(text(C::LicenceNo, 40))
        .col(text(C::LegalRep, 64))
        .col(ColumnDef::new(C::RegisteredCapital).big_integer().null())
        .col(ColumnDef::new(C::AnnualTurnover).big_integer().null())
        .col(text(C::Bank, 200))
        .col(text(C::BankAccount, 40))
        .col(text(C::LocalTaxNo, 40))
        .col(text(C::NationalTaxNo, 40))
        .col(text(C::Size, 16))
        .col(text(C::Gender, 16))
        .col(ColumnDef::new(C::Birthday).date().null())
        .col(text(C::IncomeBand, 32))
        .col(
            ColumnDef::new(C::Tags)
                .string_len(240)
                .not_null()
                .default(""),
        )
        .col(ColumnDef::new(C::Memo).text().null())
        .col(
            ColumnDef::new(C::Status)
                .string_len(16)
                .not_null()
                .default("active"),
        )
        .col(ts_null(C::LastOrderAt))
        .col(ts_null(C::DeletedAt))
        .foreign_key(
            ForeignKey::create()
                .from(C::Table, C::OwnerId)
                .to(Users::Table, Users::Id),
        )
        .to_owned();
    audited(
        &mut t,
        C::CreatedAt,
        C::CreatedBy,
        C::UpdatedAt,
        C::UpdatedBy,
        C::Version,
    );

    let tags = Table::create()
        .table(CustomerTags::Table)
        .col(
            ColumnDef::new(CustomerTags::CustomerId)
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(CustomerTags::Tag).string_len(20).not_null())
        .primary_key(
            Index::create()
                .col(CustomerTags::CustomerId)
                .col(CustomerTags::Tag),
        )
        .foreign_key(
            ForeignKey::create()
                .from(CustomerTags::Table, CustomerTags::CustomerId)
                .to(C::Table, C::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();

    let codes = Table::create()
        .table(CustomerCodes::Table)
        .col(
            ColumnDef::new(CustomerCodes::Day)
                .string_len(8)
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(CustomerCodes::Last).big_integer().not_null())
        .to_owned();

    let mut contacts = Table::create()
        .table(Contacts::Table)
        .col(id_col(Contacts::Id))
        .col(
            ColumnDef::new(Contacts::CustomerId)
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(Contacts::Name).string_len(64).not_null())
        .col(ColumnDef::new(Contacts::Gender).string_len(16).null())
        .col(ColumnDef::new(Contacts::Position).string_len(64).null())
        .col(ColumnDef::new(Contacts::Phone).string_len(20).null())
        .col(ColumnDef::new(Contacts::Mobile).string_len(20).null())
        .col(ColumnDef::new(Contacts::Email).string_len(254).null())
        .col(ColumnDef::new(Contacts::Memo).text().null())
        .col(ColumnDef::new(Contacts::IsPrimary).boolean().not_null())
        .foreign_key(
            ForeignKey::create()
                .from(Contacts::Table, Contacts::CustomerId)
                .to(C::Table, C::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    audited(
        &mut contacts,
        Contacts::CreatedAt,
        Contacts::CreatedBy,
        Contacts::UpdatedAt,
        Contacts::UpdatedBy,
        Contacts::Version,
    );

    // At most one primary contact per customer, whatever two writers do at once.
    let one_primary = Index::create()
        .name("ux_contacts_primary")
        .table(Contacts::Table)
        .col(Contacts::CustomerId)
        .unique()
        .and_where(Expr::col(Contacts::IsPrimary).eq(true))
        .to_owned();

    // The trash, most recently deleted first. Partial: an index on `deleted_at` itself would
    // hold every live customer under NULL, and a planner without statistics would read the
    // whole table through it for the live list.
    let trash = Index::create()
        .name("ix_customers_trash")
        .table(C::Table)
        .col(C::UpdatedAt)
        .col(C::Id)
        .and_where(Expr::col(C::DeletedAt).is_not_null())
        .to_owned();

    vec![
        Ddl::Table(t),
        Ddl::Table(tags),
        Ddl::Table(codes),
        Ddl::Table(contacts),
        index("ux_customers_code", C::Table, &[&C::Code]).unique(),
        // The sorts.
        index("ix_customers_name", C::Table, &[&C::Name, &C::Id]),
        index("ix_customers_created", C::Table, &[&C::CreatedAt, &C::Id]),
        index("ix_customers_updated", C::Table, &[&C::UpdatedAt, &C::Id]),
        index(
            "ix_customers_last_order",
            C::Table,
            &[&C::LastOrderAt, &C::Id],
        ),
        // The filters, each with the default sort (newest first) after it; an account
        // manager's own list by name has its own.
        index(
            "ix_customers_owner_created",
            C::Table,
            &[&C::OwnerId, &C::CreatedAt, &C::Id],
        ),
        index(
            "ix_customers_owner_name",
            C::Table,
            &[&C::OwnerId, &C::Name, &C::Id],
        ),
        index(
            "ix_customers_region_created",
            C::Table,
            &[&C::Region, &C::CreatedAt, &C::Id],
        ),
        index(
            "ix_customers_level_created",
            C::Table,
            &[&C::Level, &C::CreatedAt, &C::Id],
        ),
        index(
            "ix_customers_industry_created",
            C::Table,
            &[&C::Industry, &C::CreatedAt, &C::Id],
        ),
        index(
            "ix_customers_status_created",
            C::Table,
            &[&C::Status, &C::CreatedAt, &C::Id],
        ),
        index(
            "ix_customer_tags_tag",
            CustomerTags::Table,
            &[&CustomerTags::Tag, &CustomerTags::CustomerId],
        ),
        index(
            "ix_contacts_customer",
            Contacts::Table,
            &[&Contacts::CustomerId, &Contacts::Id],
        ),
        index(
            "ix_contacts_name",
            Contacts::Table,
            &[&Contacts::Name, &Contacts::Id],
        ),
        Ddl::Index(one_primary),
        Ddl::Index(trash),
    ]
}

/// Interactions (交往记录), newest first per customer; and the customer's records (contacts,
/// interactions), whose audit entries its history shows — the contacts there already are
/// registered here.
fn activities() -> Vec<Ddl> {
    use Activities as A;
    let mut t = Table::create()
        .table(A::Table)
        .col(id_col(A::Id))
        .col(ColumnDef::new(A::CustomerId).big_integer().not_null())
        .col(ColumnDef::new(A::ContactId).big_integer().null())
        .col(ts(A::At))
        .col(ColumnDef::new(A::Channel).string_len(64).not_null())
        .col(ColumnDef::new(A::Place).string_len(200).null())
        .col(ColumnDef::new(A::Title).string_len(100).not_null())
        .col(ColumnDef::new(A::Description).text().null())
        .foreign_key(
            ForeignKey::create()
                .from(A::Table, A::CustomerId)
                .to(Customers::Table, Customers::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .from(A::Table, A::ContactId)
                .to(Contacts::Table, Contacts::Id)
                .on_delete(ForeignKeyAction::SetNull),
        )
        .to_owned();
    audited(
        &mut t,
        A::CreatedAt,
        A::CreatedBy,
        A::UpdatedAt,
        A::UpdatedBy,
        A::Version,
    );
    use CustomerRecords as R;
    let records = Table::create()
        .table(R::Table)
        .col(ColumnDef::new(R::CustomerId).big_integer().not_null())
        .col(ColumnDef::new(R::Entity).string_len(32).not_null())
        .col(ColumnDef::new(R::EntityId).string_len(32).not_null())
        .primary_key(
            Index::create()
                .col(R::CustomerId)
                .col(R::Entity)
                .col(R::EntityId),
        )
        .foreign_key(
            ForeignKey::create()
                .from(R::Table, R::CustomerId)
                .to(Customers::Table, Customers::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned();
    // The same statement on both: `TEXT` is a type of both, and the audit log keeps ids as text.
    const LINK_CONTACTS: &str = "INSERT INTO customer_records (customer_id, entity, entity_id) \
        SELECT customer_id, 'contact', CAST(id AS TEXT) FROM contacts";
    vec![
        Ddl::Table(t),
        Ddl::Table(records),
        index(
            "ix_activities_customer_at",
            A::Table,
            &[&A::CustomerId, &A::At, &A::Id],
        ),
        index("ix_activities_contact", A::Table, &[&A::ContactId]),
        Ddl::PerBackend {
            sqlite: LINK_CONTACTS,
            postgres: LINK_CONTACTS,
        },
    ]
}
