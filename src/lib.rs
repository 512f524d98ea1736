//! Unweave: real-time music source separation.
//!
//! [`engine`] is the DSP shared by every front end; [`metrics`] scores stems
//! against references; [`plugin`] and [`editor`] are the CLAP/VST3 front end.

pub mod cli;
pub mod editor;
pub mod engine;
pub mod metrics;
pub mod plugin;
