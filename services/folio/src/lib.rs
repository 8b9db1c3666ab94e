//! Folio: contributions in, a catalogue bundle out. One binary with roles; this library holds them, and
//! `main.rs` only parses the command line.

pub mod assemble;
pub mod backends;
pub mod builds;
pub mod bundle_zip;
pub mod classification;
pub mod cli;
pub mod config;
pub mod coordinator;
pub mod eval_cmd;
pub mod extract_cmd;
pub mod gateway;
pub mod health;
pub mod ingest;
pub mod metrics;
pub mod process;
pub mod reconciler;
pub mod roles;
pub mod sandbox;
pub mod telemetry;
pub mod uploads;
pub mod webhook;
pub mod worker;
