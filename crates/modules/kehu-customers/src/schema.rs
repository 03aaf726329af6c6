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
