//! Every user-facing setting of the engine, in the units a musician thinks in
//! (milliseconds, hertz), with one table of names and ranges that the command
//! line (`--set NAME=VALUE`) and the plugin's parameters both use.

/// Which separator runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// Median-filter harmonic/percussive separation (FitzGerald 2010, Driedger 2014).
    #[default]
    Hpss,
    /// Repeating background by its period (Rafii & Pardo 2013), on a rolling buffer.
    Repet,
    /// Repeating background by similar frames (Rafii & Pardo 2012), on a rolling buffer.
    RepetSim,
    /// Repeating background by the peaks of a rolling patch's 2-D Fourier transform
    /// (Seetharaman, Pishdadian & Pardo 2017).
    Ft2d,
    /// Supervised NMF: one stem taught from a few seconds of it, the other learned as it plays.
    Nmf,
    /// Four stems (drums, bass, other, lead) by a cascade: HPSS, then REPET-SIM on the
    /// harmonic part, then the low sustained part as the bass.
    Stems,
}

impl Algorithm {
    pub const ALL: [Algorithm; 6] = [
        Algorithm::Hpss,
        Algorithm::Repet,
        Algorithm::RepetSim,
        Algorithm::Ft2d,
        Algorithm::Nmf,
        Algorithm::Stems,
    ];

    /// The most stems any setting of this algorithm produces: 4 for Stems, 3 for HPSS
    /// (its residual, with a separation factor above 1), 2 for the others.
    pub fn most_stems(self) -> usize {
        match self {
            Algorithm::Stems => 4,
            Algorithm::Hpss => 3,
            _ => 2,
        }
    }

    /// Whether this is one of the rolling-buffer separators (REPET, REPET-SIM).
    pub fn is_repet(self) -> bool {
        matches!(self, Algorithm::Repet | Algorithm::RepetSim)
    }
}

/// FFT sizes the engine supports; the hop is always a quarter of the size.
pub const FFT_SIZES: [usize; 5] = [512, 1024, 2048, 4096, 8192];

/// The sample rates the FFT sizes are meant for; outside them the engine scales the
/// size (see [`fft_size_at`]).
pub const NATIVE_RATES: std::ops::RangeInclusive<f32> = 8_000.0..=384_000.0;
/// The sample rates an engine can be built for: whatever a host may ask for.
pub const SAMPLE_RATES: std::ops::RangeInclusive<f32> = 1_000.0..=1_536_000.0;

/// The FFT size used for a chosen `fft_size` at `sample_rate`. Within [`NATIVE_RATES`]
/// it is the chosen size. Outside, it is scaled by powers of two so the window keeps
/// its length in time: twice the samples at 768 kHz, four times at 1536 kHz, half below
/// 8 kHz, an eighth at 1 kHz. So widths, periods and the frame rate stay what they are at
/// the native rates (and so do memory and work per second of audio, per frame), instead
/// of frames of a third of a millisecond, or of eight seconds.
pub fn fft_size_at(fft_size: usize, sample_rate: f32) -> usize {
    let mut n = fft_size;
    let mut rate = sample_rate;
    while rate > *NATIVE_RATES.end() {
        rate /= 2.0;
        n *= 2;
    }
    while rate < *NATIVE_RATES.start() && n > 16 {
        rate *= 2.0;
        n /= 2;
    }
    n
}

/// The longest harmonic median, in milliseconds; HPSS sizes its buffers for it so
/// that the width can change while audio runs.
pub const MAX_HARMONIC_WIDTH_MS: f32 = 1000.0;

/// Settings of the median-filter HPSS separator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HpssSettings {
    /// Length of the median across time that estimates the harmonic part.
    pub harmonic_width_ms: f32,
    /// Width of the median across frequency that estimates the percussive part.
    pub percussive_width_hz: f32,
    /// Exponent of the soft (Wiener) masks: 1 magnitude ratio, 2 power ratio, large values tend to binary.
    pub mask_power: f32,
    /// Driedger's separation factor β (librosa's margin): above 1 a component must dominate the
    /// other by this factor, and what neither claims goes to the residual stem.
    pub separation: f32,
    /// Causal harmonic median (past frames only): latency is the window alone.
    pub low_latency: bool,
}

impl Default for HpssSettings {
    fn default() -> Self {
        Self {
            harmonic_width_ms: 360.0,
            percussive_width_hz: 500.0,
            mask_power: 2.0,
            separation: 1.0,
            low_latency: false,
        }
    }
}

impl HpssSettings {
    pub fn has_residual(&self) -> bool {
        self.separation > 1.0
    }
}

/// Settings of the Stems cascade beyond those of its stages (HPSS's widths, mask power
/// and factor; REPET-SIM's buffer, neighbours, spacing, lookahead and high-pass).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StemsSettings {
    /// The bass is the sustained, repeating part below this; above twice this it is
    /// other (a raised-cosine crossover over the octave between).
    pub bass_hz: f32,
    /// The drums stage's time median (HPSS's harmonic width, for the drums alone). A
    /// causal median calls a new note percussive until it fills half the median, so
    /// in real time a shorter one than HPSS's 360 ms loses less of every note's
    /// onset to the drums, while still longer than a drum hit's decay.
    pub drums_width_ms: f32,
    /// How far ahead of the masked frame the drums' time median reaches, in ms (up
    /// to half the drums width, where it is centred): as much latency, for
    /// bouncing; 0, the cascade is causal.
    pub drums_lookahead_ms: f32,
}

impl Default for StemsSettings {
    fn default() -> Self {
        Self {
            bass_hz: 150.0,
            drums_width_ms: 150.0,
            drums_lookahead_ms: 0.0,
        }
    }
}

/// Where REPET takes its repeating period from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PeriodSource {
    /// Tracked from the beat spectrum of what it hears.
    #[default]
    Auto,
    /// A whole number of bars at the host's tempo and time signature.
    HostTempo,
    /// [`RepetSettings::manual_period_ms`].
    Manual,
}

impl PeriodSource {
    pub const ALL: [PeriodSource; 3] = [
        PeriodSource::Auto,
        PeriodSource::HostTempo,
        PeriodSource::Manual,
    ];
    /// Names as `--set period_source=` takes them, in the order of [`Self::ALL`].
    pub const NAMES: [&'static str; 3] = ["auto", "tempo", "manual"];
}

/// Bar counts the host-tempo period can span.
pub const PERIOD_BARS: [f32; 3] = [1.0, 2.0, 4.0];

/// Settings of REPET and REPET-SIM, which share the rolling buffer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RepetSettings {
    /// Past audio the repeating model can draw on, in seconds.
    pub buffer_s: f32,
    /// Audio ahead of the masked frame the model may also use (adds as much latency).
    pub lookahead_s: f32,
    /// Below this the foreground is silent (bass and kick stay in the background).
    pub high_pass_hz: f32,
    /// REPET: shortest and longest period the beat spectrum may pick.
    pub min_period_s: f32,
    pub max_period_s: f32,
    pub period_source: PeriodSource,
    /// REPET with [`PeriodSource::HostTempo`]: bars per period, one of [`PERIOD_BARS`].
    pub period_bars: f32,
    pub manual_period_ms: f32,
    /// REPET-SIM: most similar frames whose median is the model.
    pub neighbours: usize,
    /// REPET-SIM: least time between two chosen frames (and from the masked frame).
    pub min_spacing_s: f32,
    /// REPET-SIM: least cosine similarity of a chosen frame.
    pub similarity_threshold: f32,
    /// The lead keeps only its pitched part (see [`crate::engine::pitched`]): what does
    /// not repeat but is broadband (drum hits, fills, noise) stays in the background.
    /// REPET, REPET-SIM, 2DFT and Stems' lead.
    pub pitched_lead: bool,
    /// REPET-SIM (and Stems' lead): also model the frame from its repetitions one, two,
    /// … periods away (REPET's model, with REPET's period settings), and mask against
    /// the mean of the two models.
    pub period_model: bool,
}

impl Default for RepetSettings {
    fn default() -> Self {
        Self {
            buffer_s: 24.0,
            lookahead_s: 0.0,
            high_pass_hz: 100.0,
            min_period_s: 0.8,
            max_period_s: 8.0,
            period_source: PeriodSource::Auto,
            period_bars: 1.0,
            manual_period_ms: 2000.0,
            neighbours: 20,
            min_spacing_s: 1.0,
            similarity_threshold: 0.0,
            pitched_lead: true,
            period_model: true,
        }
    }
}

/// Settings of the 2DFT separator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ft2dSettings {
    /// Length of the rolling patch that is transformed; half of it is lookahead.
    pub patch_s: f32,
    /// Width of the peak filter along the modulation-rate axis.
    pub neighbourhood_hz: f32,
    /// Peaks weaker than this share of the strongest are not repeating.
    pub threshold: f32,
    /// Below this the foreground is silent.
    pub high_pass_hz: f32,
}

impl Default for Ft2dSettings {
    fn default() -> Self {
        Self {
            patch_s: 10.0,
            neighbourhood_hz: 1.25,
            threshold: 0.0,
            high_pass_hz: 100.0,
        }
    }
}

/// Which stem NMF's taught templates describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Taught {
    /// The accompaniment: teach it on a passage without the lead.
    #[default]
    Background,
    /// The lead: teach it on a passage where it plays alone.
    Foreground,
}

impl Taught {
    pub const ALL: [Taught; 2] = [Taught::Background, Taught::Foreground];
    /// Names as `--set nmf_taught=` takes them, in the order of [`Self::ALL`].
    pub const NAMES: [&'static str; 2] = ["background", "foreground"];
}

/// Most templates NMF learns for the taught stem.
pub const MAX_NMF_COMPONENTS: usize = 32;
/// Most free templates that follow the other stem.
pub const MAX_FREE_COMPONENTS: usize = 16;
/// Most multiplicative updates per frame.
pub const MAX_NMF_ITERATIONS: usize = 50;

/// Settings of the supervised NMF separator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NmfSettings {
    /// Templates learned when the stem is taught.
    pub components: usize,
    /// Templates that follow the untaught stem while audio plays; with none, the
    /// untaught stem is what the taught templates leave unexplained (the better
    /// choice when the taught stem was heard alone: 3 to 5 dB more SDR on the corpus).
    pub free_components: usize,
    /// Multiplicative updates of the activations per frame: CPU against accuracy.
    pub iterations: usize,
    pub taught: Taught,
}

impl Default for NmfSettings {
    fn default() -> Self {
        Self {
            components: 16,
            free_components: 0,
            iterations: 10,
            taught: Taught::Background,
        }
    }
}

/// All settings of one engine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub algorithm: Algorithm,
    pub fft_size: usize,
    pub hpss: HpssSettings,
    pub repet: RepetSettings,
    pub ft2d: Ft2dSettings,
    pub nmf: NmfSettings,
    pub stems: StemsSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Hpss,
            fft_size: 2048,
            hpss: HpssSettings::default(),
            repet: RepetSettings::default(),
            ft2d: Ft2dSettings::default(),
            nmf: NmfSettings::default(),
            stems: StemsSettings::default(),
        }
    }
}

mod spec;
mod table;
pub use spec::{Kind, Rebuild, SettingError, Spec};
pub use table::{MAX_NEIGHBOURS, SPECS};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let mut s = Settings::default();
        s.set_from_str("harmonic_width=350").unwrap();
        s.set_from_str("fft_size=4096").unwrap();
        s.set_from_str("low_latency=on").unwrap();
        s.set_from_str("percussive_width=700Hz").unwrap();
        assert_eq!(s.hpss.harmonic_width_ms, 350.0);
        assert_eq!(s.hpss.percussive_width_hz, 700.0);
        assert_eq!(s.fft_size, 4096);
        assert!(s.hpss.low_latency);
        assert!(matches!(
            s.set_from_str("fft_size=1000"),
            Err(SettingError::Invalid { .. })
        ));
        assert!(matches!(
            s.set_from_str("mask_power=nan"),
            Err(SettingError::Invalid { .. })
        ));
        assert!(matches!(
            s.set_from_str("separation=0.5"),
            Err(SettingError::Invalid { .. })
        ));
        assert!(matches!(
            s.set_from_str("wobble=1"),
            Err(SettingError::Unknown(_))
        ));
        assert!(matches!(
            s.set_from_str("wobble"),
            Err(SettingError::Syntax(_))
        ));
        assert_eq!(Algorithm::parse("hpss"), Some(Algorithm::Hpss));
        assert_eq!(Algorithm::parse("repet-sim"), Some(Algorithm::RepetSim));
        assert_eq!(Algorithm::parse("2dft"), Some(Algorithm::Ft2d));
        s.set_from_str("period_source=tempo").unwrap();
        s.set_from_str("period_bars=2").unwrap();
        s.set_from_str("neighbours=40").unwrap();
        assert_eq!(s.repet.period_source, PeriodSource::HostTempo);
        assert_eq!(s.repet.period_bars, 2.0);
        assert_eq!(s.repet.neighbours, 40);
        assert!(s.set_from_str("period_bars=3").is_err());
        assert!(s.set_from_str("neighbours=0").is_err());
        assert!(s.set_from_str("period_source=guess").is_err());
    }

    #[test]
    fn defaults_lie_in_their_ranges() {
        let d = Settings::default();
        for spec in SPECS {
            // Every default, written out and parsed back, is accepted and unchanged.
            let v = d.get(spec.id);
            let text = match spec.kind {
                Kind::Choice { ids, .. } => ids[v as usize].to_string(),
                Kind::Switch => if v > 0.5 { "on" } else { "off" }.to_string(),
                _ => format!("{v}"),
            };
            let mut s = d;
            s.set_from_str(&format!("{}={text}", spec.id)).unwrap();
            assert_eq!(s, d, "{}", spec.id);
        }
    }

    #[test]
    fn the_table_says_what_needs_a_new_engine() {
        let hpss = Settings::default();
        let with = |f: &dyn Fn(&mut Settings)| {
            let mut s = hpss;
            f(&mut s);
            s
        };
        assert!(hpss.needs_rebuild(&with(&|s| s.fft_size = 1024)));
        assert!(hpss.needs_rebuild(&with(&|s| s.hpss.low_latency = true)));
        assert!(hpss.needs_rebuild(&with(&|s| s.hpss.harmonic_width_ms = 200.0)));
        assert!(hpss.needs_rebuild(&with(&|s| s.hpss.separation = 2.0)));
        assert!(!hpss.needs_rebuild(&with(&|s| s.hpss.mask_power = 3.0)));
        assert!(!hpss.needs_rebuild(&with(&|s| s.hpss.percussive_width_hz = 900.0)));
        // Only for the algorithm that uses it.
        assert!(!hpss.needs_rebuild(&with(&|s| s.repet.lookahead_s = 2.0)));
        let low = with(&|s| s.hpss.low_latency = true);
        let mut wider = low;
        wider.hpss.harmonic_width_ms = 200.0;
        assert!(
            !low.needs_rebuild(&wider),
            "a causal median changes width live"
        );
        let residual = with(&|s| s.hpss.separation = 2.0);
        let mut more = residual;
        more.hpss.separation = 3.0;
        assert!(!residual.needs_rebuild(&more), "the residual stays: live");
        let repet = with(&|s| s.algorithm = Algorithm::Repet);
        assert!(hpss.needs_rebuild(&repet));
        for (rebuilds, change) in [
            (
                true,
                &(|s: &mut Settings| s.repet.lookahead_s = 2.0) as &dyn Fn(&mut Settings),
            ),
            (true, &|s: &mut Settings| s.repet.buffer_s = 12.0),
            (false, &|s: &mut Settings| s.repet.high_pass_hz = 200.0),
            (false, &|s: &mut Settings| s.ft2d.patch_s = 5.0),
        ] {
            let mut s = repet;
            change(&mut s);
            assert_eq!(repet.needs_rebuild(&s), rebuilds, "{s:?}");
        }
        let ft2d = with(&|s| s.algorithm = Algorithm::Ft2d);
        let mut patch = ft2d;
        patch.ft2d.patch_s = 5.0;
        assert!(ft2d.needs_rebuild(&patch));
        let mut threshold = ft2d;
        threshold.ft2d.threshold = 0.5;
        assert!(!ft2d.needs_rebuild(&threshold));
    }
}
