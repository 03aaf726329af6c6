//! The customer module's table and column names, shared by its migrations and its store.

use sea_query::Iden;

/// 客户 (`cst_customer`): an owned table (the owner is the account manager).
#[derive(Iden, Clone, Copy)]
pub enum Customers {
    Table,
    Id,
    Code,
    Name,
    OwnerId,
    Region,
    Level,
    Industry,
    Source,
    Satisfaction,
    Credit,
    Address,
    Postcode,
    Phone,
    Fax,
    Website,
    LicenceNo,
    LegalRep,
    RegisteredCapital,
    AnnualTurnover,
    Bank,
    BankAccount,
    LocalTaxNo,
    NationalTaxNo,
    Size,
    Gender,
    Birthday,
    IncomeBand,
    /// The tags joined by commas, for showing; [`CustomerTags`] is what filters use.
    Tags,
    Memo,
    Status,
    LastOrderAt,
    DeletedAt,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// One row per tag of a customer: the tag filter's index.
#[derive(Iden, Clone, Copy)]
pub enum CustomerTags {
    Table,
    CustomerId,
    Tag,
}

/// The last customer code's sequence number of each day.
#[derive(Iden, Clone, Copy)]
pub enum CustomerCodes {
    Table,
    Day,
    Last,
}

/// 联系人 (`cst_linkman`): in the data scope through its customer.
#[derive(Iden, Clone, Copy)]
pub enum Contacts {
    Table,
    Id,
    CustomerId,
    Name,
    Gender,
    Position,
    Phone,
    Mobile,
    Email,
    Memo,
    IsPrimary,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// 交往记录 (`cst_activity`): in the data scope through its customer.
#[derive(Iden, Clone, Copy)]
pub enum Activities {
    Table,
    Id,
    CustomerId,
    /// The contact met (optional; set to null when the contact is deleted).
    ContactId,
    /// When it happened.
    At,
    /// Dictionary value of kind `activity_channel`.
    Channel,
    Place,
    Title,
    Description,
    /// Who recorded it (记录人) is `created_by`.
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
    Version,
}

/// The records that hang off a customer (its contacts, interactions, and what other modules
/// link), by the entity name and id the audit log uses: the customer's change history reads
/// their entries too, deleted ones included.
#[derive(Iden, Clone, Copy)]
pub enum CustomerRecords {
    Table,
    CustomerId,
    Entity,
    EntityId,
}

/// 客户价值 (`customer_values`): what the nightly customer-value analysis (kehu-reports) found
/// for each customer that ordered — RFM scores and segment, ABC class, value class, cluster,
/// P(alive), expected purchases and lifetime value — one row per customer, replaced by each
/// run. Owned through its customer; the customer list filters on it.
#[derive(Iden, Clone, Copy)]
pub enum CustomerValues {
    Table,
    CustomerId,
    /// The analysis run that wrote the row.
    RunId,
    R,
    F,
    M,
    Segment,
    Abc,
    ValueClass,
    Cluster,
    /// Millionths (0–1,000,000): sortable as a whole number.
    PAlive,
    ExpectedPurchases,
    /// Fen.
    Clv,
    /// Fen: the customer's net revenue until the run's day.
    Revenue,
    Orders,
    LastPurchase,
}
