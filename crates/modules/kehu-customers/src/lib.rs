//! The customer module (客户管理): customers and their contacts.

pub mod domain;
