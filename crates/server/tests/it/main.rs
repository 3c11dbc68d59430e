//! binderdb's integration tests: each test starts a real server on an ephemeral port and drives
//! it with the AWS SDK for Rust (or raw HTTP where the SDK cannot send what we need to test).
//! Files are named for the behaviour they check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod backups;
mod batch;
mod common;
mod conditions;
mod control_plane;
mod durability;
mod exactness;
mod filters_projections;
mod http_protocol;
mod indexes_ddl;
mod indexes_online;
mod indexes_reads;
mod indexes_writes;
mod item_collections;
mod items;
mod legacy_reads;
mod protocol;
mod query;
mod query_errors;
mod scan;
mod sigv4;
mod statistics;
mod streams;
mod tables;
mod tags;
mod transactions;
mod transactions_concurrency;
mod ttl;
mod update_item;
