//! binderdb's integration tests: each test starts a real server on an ephemeral port and drives
//! it with the AWS SDK for Rust (or raw HTTP where the SDK cannot send what we need to test).
//! Files are named for the behaviour they check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access_control;
mod backups;
mod batch;
mod batch_writes;
mod billing_mode_summary;
mod common;
mod conditions;
mod contributor_insights;
mod control_plane;
mod creating_window;
mod data_copy;
mod degenerate_inputs;
mod durability;
mod encryption;
mod exactness;
mod export_import;
mod filters_projections;
mod hostile_clients;
mod http_protocol;
mod index_billing;
mod indexes_ddl;
mod indexes_online;
mod indexes_reads;
mod indexes_writes;
mod item_collections;
mod items;
mod kinesis_destinations;
mod legacy_reads;
mod metrics;
mod nodes;
mod on_demand_throughput;
mod pacing;
mod partiql;
mod pitr;
mod pitr_deleted;
mod protocol;
mod query;
mod query_errors;
mod read_dispatch;
mod realism;
mod resource_policy_documents;
mod scan;
mod sigv4;
mod statistics;
mod storage_report;
mod streams;
mod tables;
mod tags;
mod throttling;
mod tls;
mod transactions;
mod transactions_concurrency;
mod ttl;
mod update_concerns;
mod update_item;
mod updates_in_flight;
mod warm_throughput;
mod warm_throughput_edges;
