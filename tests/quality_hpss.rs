//! HPSS quality on the corpus, measured as BSS Eval v3 SDR against the true stems,
//! compared with the librosa figures in `shared/corpus/ANCHORS.md`.

mod common;

use common::*;
use unweave::engine::{Engine, Settings, Stem};
use unweave::metrics::sdr;

/// librosa `hpss` (kernel 31, power 2, margin 1) per item: (harmonic, percussive) SDR in dB.
// 3.14 is a measured SDR, not an approximation of π.
#[allow(clippy::approx_constant)]
const LIBROSA_K31: [(&str, f64, f64); 2] = [
    ("hpss_dev_01_pop", 7.10, 6.14),
    ("hpss_dev_02_shuffle", 3.14, 3.86),
];

/// Separates `mix` with the latency removed, returns the mean over channels of the
/// SDR of (harmonic, percussive).
fn score(item: &std::path::Path, settings: Settings) -> (f64, f64) {
    let (mix, rate) = read_wav(&item.join("mix.wav"));
    let (harmonic, _) = read_wav(&item.join("harmonic.wav"));
    let (percussive, _) = read_wav(&item.join("percussive.wav"));
    let mut engine = Engine::new(settings, rate as f32, mix.len(), 4096).unwrap();
    let latency = engine.latency();
    let out = run_fixed(&mut engine, &mix, 4096, latency);
    let channels = mix.len();
    let mut h = 0.0;
    let mut p = 0.0;
    for c in 0..channels {
        h += sdr(&harmonic[c], &out[Stem::Background as usize][c][latency..]);
        p += sdr(
            &percussive[c],
            &out[Stem::Foreground as usize][c][latency..],
        );
    }
    (h / channels as f64, p / channels as f64)
}

/// librosa's kernel of 31 frames × 31 bins at 44.1 kHz, hop 512, FFT 2048, in ms and Hz.
fn librosa_equivalent() -> Settings {
    let mut s = Settings::default();
    s.hpss.harmonic_width_ms = 31.0 * 512.0 / 44.1;
    s.hpss.percussive_width_hz = 31.0 * 44_100.0 / 2048.0;
    s
}

#[test]
fn hpss_matches_librosa_with_its_kernel_and_beats_it_at_defaults() {
    let Some(corpus) = corpus() else { return };
    let mut report = String::new();
    let mut worst_gap = 0.0f64;
    let (mut lib_h, mut lib_p, mut eq_h, mut eq_p, mut def_h, mut def_p) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (name, h_ref, p_ref) in LIBROSA_K31 {
        let item = corpus.join(name);
        let (h, p) = score(&item, librosa_equivalent());
        let (dh, dp) = score(&item, Settings::default());
        report += &format!(
            "{name}: librosa k31 {h_ref:.2}/{p_ref:.2}  unweave k31-equivalent {h:.2}/{p:.2}  unweave defaults {dh:.2}/{dp:.2}\n"
        );
        worst_gap = worst_gap.max((h - h_ref).abs()).max((p - p_ref).abs());
        (lib_h, lib_p, eq_h, eq_p, def_h, def_p) = (
            lib_h + h_ref,
            lib_p + p_ref,
            eq_h + h,
            eq_p + p,
            def_h + dh,
            def_p + dp,
        );
    }
    let n = LIBROSA_K31.len() as f64;
    let (lib_h, lib_p, eq_h, eq_p, def_h, def_p) = (
        lib_h / n,
        lib_p / n,
        eq_h / n,
        eq_p / n,
        def_h / n,
        def_p / n,
    );
    report += &format!(
        "family median: librosa {lib_h:.2}/{lib_p:.2}  k31-equivalent {eq_h:.2}/{eq_p:.2}  defaults {def_h:.2}/{def_p:.2}"
    );
    eprintln!("{report}");
    assert!(
        (eq_h - lib_h).abs() <= 0.3 && (eq_p - lib_p).abs() <= 0.3,
        "not within 0.3 dB of librosa:\n{report}"
    );
    assert!(
        def_h >= lib_h && def_p >= lib_p,
        "defaults below librosa:\n{report}"
    );
}
