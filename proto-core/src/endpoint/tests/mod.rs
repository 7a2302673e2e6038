//! Endpoint tests: two endpoints over an in-memory wire in virtual time
//! (see `harness`), plus single endpoints fed crafted segments.

mod harness;

mod cookies;
mod lifecycle;
mod limits;
mod scale;
mod transfer;
