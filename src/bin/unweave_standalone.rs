//! Unweave as a standalone application: the plugin and its editor over JACK or
//! ALSA, to try the sound and the controls without a DAW. Built only with the
//! `standalone` feature (it links ALSA):
//!
//! ```text
//! cargo run --release --features standalone --bin unweave-standalone -- --help
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    if nice_plug::nice_export_standalone::<unweave::plugin::Unweave>() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
