//! A context passed during plugin initialization.

use super::PluginApi;
use crate::plugin::Plugin;

/// Callbacks the plugin can make while it is being activated. This is passed to the plugin during
/// [`Plugin::activate()`][crate::plugin::Plugin::activate()].
//
// # Safety
//
// The implementing wrapper needs to be able to handle concurrent requests, and it should perform
// the actual callback within [MainThreadQueue::schedule_gui].
pub trait ActivateContext<P: Plugin> {
    /// Get the current plugin API.
    fn plugin_api(&self) -> PluginApi;

    /// Run a task directly on this thread. This ensures that the task has finished executing before
    /// the plugin finishes initializing.
    ///
    /// # Note
    ///
    /// There is no asynchronous alternative for this function as that may result in incorrect
    /// behavior when doing offline rendering.
    fn execute(&self, task: P::BackgroundTask);

    /// Update the current latency of the plugin. If the plugin is currently processing audio, then
    /// this may cause audio playback to be restarted.
    fn set_latency_samples(&self, samples: u32);

    /// Set the current voice **capacity** for this plugin (so not the number of currently active
    /// voices). This may only be called if `ClapPlugin::CLAP_POLY_MODULATION_CONFIG` is set.
    /// `capacity` must be between 1 and the configured maximum capacity. Changing this at runtime
    /// allows the host to better optimize polyphonic modulation, or to switch to strictly monophonic
    /// modulation when dropping the capacity down to 1.
    fn set_current_voice_capacity(&self, capacity: u32);

    /// UNWEAVE: name the auxiliary output ports after what they carry now, for a plugin whose
    /// ports carry different signals in different modes (a separator whose stems depend on
    /// the algorithm). `names[i]` names auxiliary output `i`; ports past the end of `names`
    /// keep the layout's name. The host is told on the main thread (CLAP: `audio_ports.rescan`
    /// with `CLAP_AUDIO_PORTS_RESCAN_NAMES`, allowed while active; VST3: `restartComponent`
    /// with `kIoTitlesChanged`). Realtime-safe: it posts a task, like
    /// [`set_latency_samples()`][Self::set_latency_samples()]. Call it when the names change,
    /// not every block. Wrappers that cannot rename their ports (the standalone's JACK ports
    /// are named once) ignore it.
    fn set_aux_output_names(&self, names: &'static [&'static str]) {
        let _ = names;
    }
}
