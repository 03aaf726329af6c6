//! Rights (权限): fine-grained codes a role grants, e.g. `customer.read`. Their codes are
//! stable (stored in `role_rights`, used by API clients); their labels live in the Fluent files
//! under `right-<code with dots as dashes>`.

use std::fmt;

macro_rules! rights {
    ($( $variant:ident = $code:literal in $module:literal ),+ $(,)?) => {
        /// One right. `Right::ALL` lists them in display order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Right { $($variant),+ }

        impl Right {
            pub const ALL: &'static [Right] = &[$(Right::$variant),+];

            /// The stable code, e.g. `customer.read`.
            pub const fn code(self) -> &'static str {
                match self { $(Right::$variant => $code),+ }
            }

            /// The product module the right belongs to (groups the role editor).
            pub const fn module(self) -> &'static str {
                match self { $(Right::$variant => $module),+ }
            }
        }
    };
}

rights! {
    CustomerRead = "customer.read" in "customers",
    CustomerWrite = "customer.write" in "customers",
    CustomerDelete = "customer.delete" in "customers",
    CustomerImport = "customer.import" in "customers",
    CustomerExport = "customer.export" in "customers",
    LossRead = "loss.read" in "customers",
    LossHandle = "loss.handle" in "customers",
    OpportunityRead = "opportunity.read" in "sales",
    OpportunityWrite = "opportunity.write" in "sales",
    OpportunityAssign = "opportunity.assign" in "sales",
    PlanWrite = "plan.write" in "sales",
    ServiceRead = "service.read" in "service",
    ServiceWrite = "service.write" in "service",
    ServiceAssign = "service.assign" in "service",
    ServiceHandle = "service.handle" in "service",
    OrderRead = "order.read" in "orders",
    OrderWrite = "order.write" in "orders",
    ProductRead = "product.read" in "orders",
    ProductWrite = "product.write" in "orders",
    ReportRead = "report.read" in "reports",
    SystemUsers = "system.users" in "system",
    SystemRoles = "system.roles" in "system",
    SystemDictionary = "system.dictionary" in "system",
    SystemAudit = "system.audit" in "system",
    SystemJobs = "system.jobs" in "system",
}

impl Right {
    pub fn from_code(code: &str) -> Option<Right> {
        Right::ALL.iter().copied().find(|r| r.code() == code)
    }

    /// The Fluent message id of the right's label.
    pub fn label_key(self) -> String {
        format!("right-{}", self.code().replace('.', "-"))
    }

    /// The product modules in display order.
    pub const MODULES: &'static [&'static str] = &[
        "customers",
        "sales",
        "service",
        "orders",
        "reports",
        "system",
    ];
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A seeded role (内置角色) of DOMAIN.md with its rights and data scope.
pub struct BuiltinRole {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    pub all_records: bool,
    pub rights: &'static [Right],
}

use Right::*;

/// The four roles of the domain. A fresh install is usable by the administrator alone, so the
/// administrator holds every right.
pub const BUILTIN_ROLES: &[BuiltinRole] = &[
    BuiltinRole {
        code: "admin",
        name_zh: "系统管理员",
        name_en: "System administrator",
        all_records: true,
        rights: Right::ALL,
    },
    BuiltinRole {
        code: "sales_supervisor",
        name_zh: "销售主管",
        name_en: "Sales supervisor",
        all_records: true,
        rights: &[
            CustomerRead,
            CustomerWrite,
            CustomerExport,
            LossRead,
            LossHandle,
            OpportunityRead,
            OpportunityWrite,
            OpportunityAssign,
            PlanWrite,
            ServiceRead,
            ServiceWrite,
            ServiceAssign,
            OrderRead,
            OrderWrite,
            ProductRead,
            ProductWrite,
            ReportRead,
        ],
    },
    BuiltinRole {
        code: "account_manager",
        name_zh: "客户经理",
        name_en: "Account manager",
        all_records: false,
        rights: &[
            CustomerRead,
            CustomerWrite,
            LossRead,
            LossHandle,
            OpportunityRead,
            OpportunityWrite,
            PlanWrite,
            ServiceRead,
            ServiceWrite,
            ServiceHandle,
            OrderRead,
            OrderWrite,
            ProductRead,
            // Their own customers' figures (the data scope counts).
            ReportRead,
        ],
    },
    BuiltinRole {
        code: "executive",
        name_zh: "高管",
        name_en: "Executive",
        all_records: true,
        rights: &[ReportRead, LossRead],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut codes: Vec<_> = Right::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Right::ALL.len());
        for r in Right::ALL {
            assert_eq!(Right::from_code(r.code()), Some(*r));
            assert!(Right::MODULES.contains(&r.module()));
        }
        assert_eq!(Right::from_code("nope"), None);
    }

    #[test]
    fn an_account_manager_may_not_administer_the_system() {
        let am = BUILTIN_ROLES.iter().find(|r| r.code == "account_manager");
        let am = am.map(|r| r.rights).unwrap_or_default();
        assert!(am.contains(&CustomerRead));
        assert!(!am.iter().any(|r| r.module() == "system"));
        assert!(!am.contains(&OpportunityAssign));
    }

    #[test]
    fn account_managers_place_orders_and_supervisors_keep_the_product_list() {
        let rights = |code: &str| {
            BUILTIN_ROLES
                .iter()
                .find(|r| r.code == code)
                .map(|r| r.rights)
                .unwrap_or_default()
        };
        let am = rights("account_manager");
        assert!(am.contains(&OrderRead) && am.contains(&OrderWrite));
        assert!(am.contains(&ProductRead) && !am.contains(&ProductWrite));
        let sup = rights("sales_supervisor");
        assert!(sup.contains(&OrderWrite) && sup.contains(&ProductWrite));
        assert!(!rights("executive").contains(&OrderWrite));
        assert!(rights("admin").contains(&ProductWrite));
    }
}
