//! Folio: contributions in, a catalogue bundle out. One binary with roles; this library holds them, and
//! `main.rs` only parses the command line.

pub mod build;
pub mod cli;
pub mod config;
pub mod gateway;
pub mod intake;
pub mod metrics;
pub mod roles;
pub mod telemetry;
pub mod worker;
