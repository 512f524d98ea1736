//! Runs one algorithm at its defaults over 30 s of stereo (a one-second loop under
//! tones and noise, so that the repeating family finds a period), for a profiler:
//! `cargo run --release --example profile -- repet-sim` (any `--algorithm` name;
//! HPSS when none is given).
use unweave::engine::{Algorithm, Engine, Settings, Stem};

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "hpss".into());
    let algorithm = Algorithm::parse(&name).expect("an algorithm name");
    let len = 30 * 44_100;
    let cycle: Vec<f32> = (0..44_100)
        .map(|t| ((t * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.2)
        .collect();
    let x: Vec<f32> = (0..len)
        .map(|t| 0.3 * (t as f32 * 0.031).sin() + cycle[t % cycle.len()])
        .collect();
    let settings = Settings {
        algorithm,
        ..Settings::default()
    };
    let mut e = Engine::new(settings, 44_100.0, 2, 512).unwrap();
    let mut acc = 0.0;
    for s in (0..len).step_by(512) {
        let end = (s + 512).min(len);
        e.process(&[&x[s..end], &x[s..end]]);
        acc += e.stem(Stem::Foreground, 0)[0];
    }
    println!("{acc}");
}
