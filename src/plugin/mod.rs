//! The CLAP and VST3 plugin: nice-plug glue over [`crate::engine`].
//!
//! Main output: the stems remixed by Balance and the stem levels. Auxiliary
//! outputs, in this order: Foreground, Background, Residual — the raw stems, as
//! `unweave separate` writes them, whatever the balance.
//!
//! Latency is `fft_size + lookahead · hop`, reported in `activate` and fixed per
//! activation: a setting that would change it asks the host to re-activate the
//! plugin (hosts handle latency changing mid-playback badly) and applies then.

pub mod learn;
pub mod params;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use nice_plug::prelude::*;
use nice_plug_egui::EguiEditorState;
use nice_plug_egui::RepaintNotifier;
use ringbuf::HeapCons;

use crate::editor::feed::{Column, Feed, Publisher};
use crate::engine::{Algorithm, Engine, Settings, Stem, Tempo};
use learn::{Learner, Task};
use params::UnweaveParams;

/// Bypass crossfades over this long, so toggling it never clicks.
const BYPASS_FADE_MS: f32 = 10.0;

pub struct Unweave {
    params: Arc<UnweaveParams>,
    engine: Option<Engine>,
    sample_rate: f32,
    /// A latency-changing setting is waiting for the host to re-activate us.
    restart_requested: bool,
    bypass_mix: Smoother<f32>,

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
        Self {
            learner: Learner::new(params.templates.clone()),
            params,
            engine: None,
            sample_rate: 44_100.0,
            restart_requested: false,
            bypass_mix: Smoother::new(SmoothingStyle::Linear(BYPASS_FADE_MS)),
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

const STEREO_AUX: [NonZeroU32; 3] = [new_nonzero_u32(2), new_nonzero_u32(2), new_nonzero_u32(2)];
const MONO_AUX: [NonZeroU32; 3] = [new_nonzero_u32(1), new_nonzero_u32(1), new_nonzero_u32(1)];
/// Names of the auxiliary outputs, in port order.
pub const AUX_OUTPUT_NAMES: [&str; 3] = ["Foreground", "Background", "Residual"];

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
                // nice-plug 0.4 names the main output after `main_input` (a known bug):
                // left unnamed, the ports read "Input" and "Output" instead of both "Input".
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
        Box::new(move |task| match task {
            Task::Learn(job) => store.learn(job),
        })
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
        self.publisher.activate(&engine, config.sample_rate);
        self.learner.activate(
            &mut engine,
            config.sample_rate,
            settings.algorithm == Algorithm::Nmf,
        );
        self.sample_rate = config.sample_rate;
        self.engine = Some(engine);
        self.restart_requested = false;
        true
    }

    fn reset(&mut self) {
        if let Some(engine) = &mut self.engine {
            engine.reset();
        }
        let p = &self.params;
        for param in [
            &p.balance,
            &p.foreground_level,
            &p.background_level,
            &p.residual_level,
        ] {
            param.smoothed.reset(param.value());
        }
        self.bypass_mix
            .reset(if p.bypass.value() { 1.0 } else { 0.0 });
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let Some(engine) = &mut self.engine else {
            return ProcessStatus::Error("not activated");
        };
        let settings = self.params.settings();
        if !engine.update(&settings) && !self.restart_requested {
            context.request_restart();
            self.restart_requested = true;
            self.feed.restart_pending.store(true, Ordering::Relaxed);
        }
        engine.set_tempo(host_tempo(context.transport()));
        self.learner.receive(engine);
        if let Some(task) = self
            .learner
            .block(self.params.learn.value(), settings.nmf.components)
        {
            context.execute_background(task);
        }
        let bypass_target = if self.params.bypass.value() { 1.0 } else { 0.0 };
        self.bypass_mix.set_target(self.sample_rate, bypass_target);

        let len = buffer.samples();
        let main = buffer.as_slice();
        self.publisher.set_open(self.editor_state.is_open());
        engine.process_observed(&*main, &mut (&mut self.publisher, &mut self.learner));
        self.publisher.block(engine, &*main);

        for (port, stem) in aux.outputs.iter_mut().zip(Stem::ALL) {
            for (c, out) in port.as_slice().iter_mut().enumerate() {
                out.copy_from_slice(engine.stem(stem, c.min(engine.channels() - 1)));
            }
        }

        let p = &self.params;
        for i in 0..len {
            let [bf, bb, br] = Self::balance_gains(p.balance.smoothed.next() * 0.01);
            let gains = [
                bf * p.foreground_level.smoothed.next(),
                bb * p.background_level.smoothed.next(),
                br * p.residual_level.smoothed.next(),
            ];
            let dry = self.bypass_mix.next();
            for (c, out) in main.iter_mut().enumerate() {
                let stems = Stem::ALL.map(|s| engine.stem(s, c)[i]);
                let wet = gains[0] * stems[0] + gains[1] * stems[1] + gains[2] * stems[2];
                // The stems sum to the input delayed by the latency: the bypassed signal.
                let delayed = stems[0] + stems[1] + stems[2];
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
