//! Exporting customers and contacts.
