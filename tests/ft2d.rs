//! The real-time 2DFT separator on the corpus's looping items, against nussl's
//! offline FT2D. Its invariants (stems sum to the delayed input, block-size
//! independence, bad samples) run with REPET's in `tests/repet.rs`.
//!
//! `FT2D_GRID="10:1.25,12:1.25"` (patch s : neighbourhood Hz, …) scores other settings.

mod common;

use common::*;
use unweave::engine::{Algorithm, Settings};

/// nussl FT2D on the corpus's `repet` family (ANCHORS.md): (background, foreground).
const NUSSL_FT2D: (f64, f64) = (10.69, 10.91);
/// Not yet at nussl on the foreground: the default 10 s patch measures 10.66 / 9.97.
/// In the middle 10 s of each clip it is at or above nussl's whole-clip figures (organ
/// 12.15 / 12.92, sax 10.41 / 10.79, left channel); the first seconds (the patch not
/// yet full) and the last 5 s (the patch reaching past the end into silence) cost the
/// rest, where nussl transforms the whole clip circularly. Held here so that it cannot
/// get worse. The mixture itself scores 0.39 / −0.41.
const HELD: (f64, f64) = (10.4, 9.7);

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
        if b < HELD.0 || f < HELD.1 {
            failures.push(format!("patch {patch}: {b:.2}/{f:.2}"));
        }
    }
    eprintln!("{report}");
    assert!(
        failures.is_empty(),
        "below the held figures: {failures:?}\n{report}"
    );
}
