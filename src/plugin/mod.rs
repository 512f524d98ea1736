//! The CLAP and VST3 plugin: nice-plug glue over [`crate::engine`].
//!
//! Main output: the stems remixed by Balance and the stem levels. Auxiliary
//! outputs: the raw stems in the algorithm's order, as `unweave separate` writes them,
//! whatever the balance; each port is named for the stem it carries while that
//! algorithm plays (HPSS: Percussive, Harmonic, Residual; Stems: Drums, Bass, Other,
//! Lead), and a port the algorithm does not use is "Unused" and silent.
//!
//! Latency is `fft_size + lookahead · hop`, reported in `activate`. A setting that
//! needs a new engine (and may change the latency) is heard within a second while
//! audio runs, without waiting for the host to re-activate the plugin: see [`swap`].
//! The new latency goes to the host then, through the format's latency-change path.

pub mod learn;
pub mod swap;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use nice_plug::prelude::*;
use nice_plug_egui::EguiEditorState;
use nice_plug_egui::RepaintNotifier;
use ringbuf::HeapCons;

use crate::engine::{Algorithm, Engine, MAX_STEMS, Settings, Side, Tempo};
use crate::feed::{Column, Feed, Publisher};
use crate::params::{self, UnweaveParams};
use learn::{LearnJob, Learner};
use swap::{BuildJob, Follow, Handover, Retired, Switcher};

/// The plugin's background tasks.
#[derive(Debug)]
pub enum Task {
    Learn(LearnJob),
    /// A new engine for settings the playing one cannot take live.
    Build(BuildJob),
    /// An engine (and capture ring) the audio thread is done with, to drop here.
    Retire(Retired),
}

/// Bypass crossfades over this long, so toggling it never clicks.
const BYPASS_FADE_MS: f32 = 10.0;
/// A stem's mute and solo fade it out and in over this long, for the same reason.
const SWITCH_FADE_MS: f32 = 10.0;

pub struct Unweave {
    params: Arc<UnweaveParams>,
    engine: Option<Box<Engine>>,
    sample_rate: f32,
    offline: bool,
    /// Builds, primes and crossfades to new engines while audio runs.
    switcher: Switcher,
    handover: Arc<Handover>,
    bypass_mix: Smoother<f32>,
    /// Each stem's gain on the main output from its mute and solo: 0 or 1, faded.
    stem_gates: [Smoother<f32>; MAX_STEMS],

    editor_state: Arc<EguiEditorState>,
    feed: Arc<Feed>,
    /// What the editor shows, published from `process` while the editor is open.
    publisher: Publisher,
    /// The editor's end of the spectrogram queue, until the editor is built.
    columns: Option<HeapCons<Column>>,
    repaint: RepaintNotifier,
    /// Learn's capture and the hand-over of taught templates.
    learner: Learner,
}

impl Default for Unweave {
    fn default() -> Self {
        let (feed, producer, consumer) = Feed::new();
        let repaint = RepaintNotifier::new();
        let params = Arc::new(UnweaveParams::default());
        let handover = Arc::new(Handover::default());
        Self {
            learner: Learner::new(params.templates.clone()),
            params,
            engine: None,
            sample_rate: 44_100.0,
            offline: false,
            switcher: Switcher::new(handover.clone()),
            handover,
            bypass_mix: Smoother::new(SmoothingStyle::Linear(BYPASS_FADE_MS)),
            stem_gates: std::array::from_fn(|_| {
                let gate = Smoother::new(SmoothingStyle::Linear(SWITCH_FADE_MS));
                gate.reset(1.0);
                gate
            }),
            editor_state: crate::editor::default_state(),
            publisher: Publisher::new(feed.clone(), producer, repaint.clone()),
            feed,
            columns: Some(consumer),
            repaint,
        }
    }
}

const fn stereo() -> Option<NonZeroU32> {
    NonZeroU32::new(2)
}

const STEREO_AUX: [NonZeroU32; MAX_STEMS] = [new_nonzero_u32(2); MAX_STEMS];
const MONO_AUX: [NonZeroU32; MAX_STEMS] = [new_nonzero_u32(1); MAX_STEMS];
/// Names of the auxiliary outputs, in port order, before the plugin is activated: what
/// each carries with the two- and three-stem algorithms, then with Stems. Once active,
/// the ports are named for the playing algorithm ([`port_names`]).
pub const AUX_OUTPUT_NAMES: [&str; MAX_STEMS] = [
    "Foreground / Drums",
    "Background / Bass",
    "Residual / Other",
    "Lead (Stems)",
];

/// What a port carries when the algorithm has fewer stems than there are ports.
pub const UNUSED_PORT: &str = "Unused";

/// The auxiliary outputs' names while `algorithm` plays: the labels of the stems it can
/// produce ([`Algorithm::most_stems`]), in port order, then [`UNUSED_PORT`]. Made once
/// (the host keeps the names as `'static`); the first call is in `activate`, so
/// `process` only reads them.
pub fn port_names(algorithm: Algorithm) -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<[&'static str; MAX_STEMS]>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        Algorithm::ALL
            .iter()
            .map(|&a| {
                std::array::from_fn(|i| match a.stems().labels.get(i) {
                    Some(label) if i < a.most_stems() => label,
                    _ => UNUSED_PORT,
                })
            })
            .collect()
    });
    let index = Algorithm::ALL
        .iter()
        .position(|&a| a == algorithm)
        .unwrap_or(0);
    &names[index]
}

/// The host's tempo in quarter notes per minute and its bar in quarter notes
/// (6/8 is three), when it sends both.
fn host_tempo(transport: &Transport) -> Option<Tempo> {
    let bpm = transport.tempo?;
    let numerator = transport.time_sig_numerator? as f64;
    let denominator = transport.time_sig_denominator? as f64;
    Some(Tempo {
        bpm,
        beats_per_bar: numerator * 4.0 / denominator,
    })
}

impl Unweave {
    /// Gains of (foreground, background, residual) for a balance in −1 … 1: the side
    /// the balance turns away from fades out, the residual (neither side) with both.
    pub fn balance_gains(balance: f32) -> [f32; 3] {
        [
            (1.0 + balance).min(1.0),
            (1.0 - balance).min(1.0),
            1.0 - balance.abs(),
        ]
    }

    /// The Balance's gain for a stem on `side`, from [`Self::balance_gains`].
    fn side_gain(gains: [f32; 3], side: Side) -> f32 {
        match side {
            Side::Foreground => gains[0],
            Side::Background => gains[1],
            Side::Neither => gains[2],
        }
    }
}

impl Plugin for Unweave {
    const NAME: &'static str = "Unweave";
    const VENDOR: &'static str = "Unweave";
    const URL: &'static str = "https://example.invalid/unweave";
    const EMAIL: &'static str = "unweave@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: stereo(),
            main_output_channels: stereo(),
            aux_output_ports: &STEREO_AUX,
            names: PortNames {
                layout: Some("Stereo"),
                main_input: None,
                main_output: Some("Mix"),
                aux_inputs: &[],
                aux_outputs: &AUX_OUTPUT_NAMES,
            },
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            aux_output_ports: &MONO_AUX,
            names: PortNames {
                layout: Some("Mono"),
                main_input: None,
                main_output: Some("Mix"),
                aux_inputs: &[],
                aux_outputs: &AUX_OUTPUT_NAMES,
            },
            ..AudioIOLayout::const_default()
        },
    ];

    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type Editor = nice_plug_egui::EguiEditor<crate::editor::UnweaveEditor>;
    type SysExMessage = ();
    type BackgroundTask = Task;

    fn task_executor(&mut self) -> TaskExecutor<Self> {
        let store = self.params.templates.clone();
        let handover = self.handover.clone();
        Box::new(move |task| match task {
            Task::Learn(job) => store.learn(job),
            Task::Build(job) => handover.build(job, &store),
            Task::Retire(retired) => drop(retired),
        })
    }

    fn filter_state(state: &mut PluginState) {
        params::migrate_state(state);
    }

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        crate::editor::create(
            self.params.clone(),
            self.feed.clone(),
            self.columns.take()?,
            self.editor_state.clone(),
            self.repaint.clone(),
        )
    }

    fn activate(
        &mut self,
        layout: &AudioIOLayout,
        config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let channels = layout.main_input_channels.map_or(0, |c| c.get() as usize);
        let settings: Settings = self.params.settings();
        let mut engine = match Engine::new(
            settings,
            config.sample_rate,
            channels,
            config.max_buffer_size as usize,
        ) {
            Ok(e) => e,
            Err(e) => {
                nice_error!("cannot activate: {e}");
                return false;
            }
        };
        context.set_latency_samples(engine.latency() as u32);
        context.set_aux_output_names(port_names(settings.algorithm));
        self.publisher.activate(&engine, config.sample_rate);
        // First forget any build in flight, so that one finishing now cannot replace the
        // capture ring Learn is given here.
        self.switcher.activate(&engine);
        self.learner.activate(
            &mut engine,
            config.sample_rate,
            settings.algorithm == Algorithm::Nmf,
        );
        self.sample_rate = config.sample_rate;
        self.offline = config.process_mode == ProcessMode::Offline;
        self.engine = Some(Box::new(engine));
        true
    }

    fn reset(&mut self) {
        if let Some(engine) = &mut self.engine {
            engine.reset();
        }
        self.switcher.reset();
        let p = &self.params;
        for param in [
            &p.balance,
            &p.foreground_level,
            &p.background_level,
            &p.residual_level,
            &p.lead_level,
        ] {
            param.smoothed.reset(param.value());
        }
        self.bypass_mix
            .reset(if p.bypass.value() { 1.0 } else { 0.0 });
        let stems = self.engine.as_ref().map_or(MAX_STEMS, |e| e.stem_count());
        for (gate, audible) in self.stem_gates.iter().zip(p.audible(stems)) {
            gate.reset(f32::from(u8::from(audible)));
        }
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let Some(engine) = self.engine.as_mut() else {
            return ProcessStatus::Error("not activated");
        };
        let settings = self.params.settings();
        let main = buffer.as_slice();
        self.switcher.record(&*main);
        let (follow, retired) = self.switcher.follow(&settings, engine);
        if let Some(retired) = retired {
            context.execute_background(Task::Retire(retired));
        }
        if let Follow::Build(job) = follow {
            if self.offline {
                // A bounce has no deadline: build here, so the switch falls on this block.
                let (store, switcher) = (&self.params.templates, &mut self.switcher);
                nice_plug::util::permit_alloc(|| {
                    if let Ok(prepared) = swap::prepare(&job, store, &|| true) {
                        switcher.arrive(prepared);
                    }
                });
                let (_, retired) = self.switcher.follow(&settings, engine);
                if let Some(retired) = retired {
                    context.execute_background(Task::Retire(retired));
                }
            } else {
                context.execute_background(Task::Build(job));
            }
        }
        self.feed
            .restart_pending
            .store(self.switcher.switching(), Ordering::Relaxed);
        let tempo = host_tempo(context.transport());
        engine.set_tempo(tempo);
        if let Some(incoming) = self.switcher.incoming_mut() {
            incoming.set_tempo(tempo);
        }
        self.learner.receive(engine);
        if let Some(task) = self
            .learner
            .block(self.params.learn.value(), settings.nmf.components)
        {
            context.execute_background(task);
        }
        let bypass_target = if self.params.bypass.value() { 1.0 } else { 0.0 };
        self.bypass_mix.set_target(self.sample_rate, bypass_target);

        let len = main.first().map_or(0, |c| c.len());
        self.publisher.set_open(self.editor_state.is_open());
        engine.process_observed(&*main, &mut (&mut self.publisher, &mut self.learner));
        self.publisher.block(engine, &*main);
        if let Some((new, capture, shell)) = self.switcher.run(&*main, engine) {
            // The new engine has faded in: it plays from the next block on.
            let old = std::mem::replace(engine, new);
            self.publisher.activate(engine, self.sample_rate);
            let old_capture = self.learner.retune(engine, self.sample_rate, capture);
            context.set_latency_samples(engine.latency() as u32);
            let (was, now) = (old.settings().algorithm, engine.settings().algorithm);
            if was != now {
                context.set_aux_output_names(port_names(now));
            }
            context.execute_background(Task::Retire(Retired {
                engine: Some(old),
                capture: old_capture,
                prepared: Some(shell),
            }));
        }
        let stems = &self.switcher;
        let channels = engine.channels();

        for (stem, port) in aux.outputs.iter_mut().enumerate() {
            for (c, out) in port.as_slice().iter_mut().enumerate() {
                // A port the host left without buffers (inactive) has empty channels.
                if out.len() == len {
                    out.copy_from_slice(stems.stem(stem, c.min(channels - 1)));
                }
            }
        }

        let p = &self.params;
        let sides = engine.settings().algorithm.stems().sides;
        let levels = p.levels();
        for (gate, audible) in self.stem_gates.iter().zip(p.audible(engine.stem_count())) {
            gate.set_target(self.sample_rate, f32::from(u8::from(audible)));
        }
        let gates = &self.stem_gates;
        for i in 0..len {
            let balance = Self::balance_gains(p.balance.smoothed.next() * 0.01);
            // Every level's smoother steps every sample, heard or not, so a stem that
            // comes in with a new algorithm does not glide from an old level.
            let gains: [f32; MAX_STEMS] = std::array::from_fn(|s| {
                let level = params::level_gain(levels[s].smoothed.next()) * gates[s].next();
                sides
                    .get(s)
                    .map_or(0.0, |&side| Self::side_gain(balance, side) * level)
            });
            let dry = self.bypass_mix.next();
            for (c, out) in main.iter_mut().enumerate() {
                let stems: [f32; MAX_STEMS] =
                    std::array::from_fn(|s| stems.stem(s, c.min(channels - 1))[i]);
                let wet: f32 = gains.iter().zip(&stems).map(|(g, x)| g * x).sum();
                // The stems sum to the input delayed by the latency: the bypassed signal.
                let delayed: f32 = stems.iter().sum();
                out[i] = wet + dry * (delayed - wet);
            }
        }
        ProcessStatus::Normal
    }
}

impl ClapPlugin for Unweave {
    const CLAP_ID: &'static str = "org.unweave.unweave";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Real-time source separation: harmonic/percussive stems on their own outputs");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Stereo,
        ClapFeature::Mono,
        ClapFeature::Utility,
    ];
}

impl Vst3Plugin for Unweave {
    const VST3_CLASS_ID: [u8; 16] = *b"UnweaveSepPlugin";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Tools];
}

nice_export_clap!(Unweave);
nice_export_vst3!(Unweave);

#[cfg(test)]
mod tests {
    use super::Unweave;

    #[test]
    fn balance_gains() {
        assert_eq!(Unweave::balance_gains(0.0), [1.0, 1.0, 1.0]);
        assert_eq!(Unweave::balance_gains(1.0), [1.0, 0.0, 0.0]);
        assert_eq!(Unweave::balance_gains(-1.0), [0.0, 1.0, 0.0]);
        assert_eq!(Unweave::balance_gains(0.5), [1.0, 0.5, 0.5]);
    }
}
