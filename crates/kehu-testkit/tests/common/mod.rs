//! What several test files share. Cargo builds only the files directly in `tests/` as test
//! targets; a file that needs this declares `mod common;`.

pub mod browser;
