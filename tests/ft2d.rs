//! The real-time 2DFT separator on the corpus's looping items, against nussl's
//! offline FT2D. Its invariants (stems sum to the delayed input, block-size
//! independence, bad samples) run with REPET's in `tests/repet.rs`.
//!
//! `FT2D_GRID="10:1.25,12:1.25"` (patch s : neighbourhood Hz, …) scores other settings.

mod common;

use common::*;
use unweave::engine::{Algorithm, Engine, Settings, Stem};
use unweave::metrics::sdr;

/// nussl FT2D on the corpus's `repet` family (ANCHORS.md): (background, foreground).
const NUSSL_FT2D: (f64, f64) = (10.69, 10.91);
// The default 10 s patch measures 11.61 / 11.97; the mixture itself 0.39 / −0.41.

#[test]
fn ft2d_reaches_the_nussl_figures_on_the_corpus() {
    let Some(corpus) = corpus() else { return };
    let mut report = String::new();
    let mut failures = Vec::new();
    let grid: Vec<(f32, f32)> = std::env::var("FT2D_GRID")
        .ok()
        .map(|g| {
            g.split(',')
                .map(|pair| {
                    let (a, b) = pair.split_once(':').unwrap();
                    (a.parse().unwrap(), b.parse().unwrap())
                })
                .collect()
        })
        .unwrap_or(vec![(10.0, 1.25)]);
    for (patch, hz) in grid {
        let mut settings = Settings {
            algorithm: Algorithm::Ft2d,
            ..Settings::default()
        };
        settings.ft2d.patch_s = patch;
        settings.ft2d.neighbourhood_hz = hz;
        report += &format!("2DFT patch {patch} s, neighbourhood {hz} Hz:\n");
        let (b, f) = family(&corpus, settings, &mut report);
        report += &format!(
            "  family: background {b:.2}  foreground {f:.2}  (nussl {:.2} / {:.2})\n",
            NUSSL_FT2D.0, NUSSL_FT2D.1
        );
        if b < NUSSL_FT2D.0 || f < NUSSL_FT2D.1 {
            failures.push(format!("patch {patch}: {b:.2}/{f:.2}"));
        }
    }
    eprintln!("{report}");
    assert!(failures.is_empty(), "below nussl: {failures:?}\n{report}");
}

/// Silence before and after the music (a region that starts late, a transport that
/// stops) is not part of what repeats: the patch is filled around it, so the music
/// separates as well as when it fills the whole stream (it measured 0.02 dB apart;
/// with the silence left in the patch, 0.45 / 0.28 dB worse).
#[test]
fn silence_around_the_music_costs_nothing() {
    let rate = 44_100.0;
    let len = 16 * 44_100;
    let (background, lead) = loop_and_lead(len, rate, 2.7, 11);
    let settings = Settings {
        algorithm: Algorithm::Ft2d,
        ..Settings::default()
    };
    let (before, after) = (3 * 44_100, 7 * 44_100);
    let separate = |silence: (usize, usize)| {
        let mix: Vec<f32> = std::iter::repeat_n(0.0, silence.0)
            .chain(background.iter().zip(&lead).map(|(b, l)| b + l))
            .chain(std::iter::repeat_n(0.0, silence.1))
            .collect();
        let mut engine = Engine::new(settings, rate, 1, 512).unwrap();
        let latency = engine.latency();
        let out = run_fixed(&mut engine, &[mix], 512, latency);
        let music = latency + silence.0..latency + silence.0 + len;
        (
            sdr(
                &background,
                &out[Stem::Background as usize][0][music.clone()],
            ),
            sdr(&lead, &out[Stem::Foreground as usize][0][music]),
        )
    };
    let mix: Vec<f32> = background.iter().zip(&lead).map(|(b, l)| b + l).collect();
    let unseparated = (sdr(&background, &mix), sdr(&lead, &mix));
    let alone = separate((0, 0));
    let padded = separate((before, after));
    eprintln!(
        "music alone {:.2} / {:.2}, with 3 s of silence before and 7 s after {:.2} / {:.2} \
         (the mixture {:.2} / {:.2})",
        alone.0, alone.1, padded.0, padded.1, unseparated.0, unseparated.1
    );
    assert!(
        alone.0 > unseparated.0 + 3.0 && alone.1 > unseparated.1 + 3.0,
        "{alone:?} against the mixture's {unseparated:?}"
    );
    assert!(
        padded.0 > alone.0 - 0.2 && padded.1 > alone.1 - 0.2,
        "{padded:?} against {alone:?}"
    );
}
