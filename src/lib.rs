//! Unweave: real-time music source separation.
//!
//! [`engine`] is the DSP shared by every front end; [`metrics`] scores stems
//! against references; [`plugin`] and [`editor`] are the CLAP/VST3 front end, over
//! what both use: [`params`] (the plugin's parameters), [`feed`] (what the audio
//! thread publishes for the editor) and [`templates`] (NMF's taught templates).
//! `plugin` builds the editor; the editor never imports `plugin`.

pub mod cli;
pub mod editor;
pub mod engine;
pub mod feed;
pub mod metrics;
pub mod params;
pub mod plugin;
pub mod rng;
pub mod templates;
