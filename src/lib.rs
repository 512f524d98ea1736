//! Unweave: real-time music source separation.
//!
//! [`engine`] is the DSP shared by every front end; [`metrics`] scores stems
//! against references.

pub mod cli;
pub mod engine;
pub mod metrics;
pub mod plugin;
