//! Runs HPSS at defaults over 30 s of stereo noise-and-tones, for a profiler.
use unweave::engine::{Engine, Settings, Stem};
fn main() {
    let len = 30 * 44_100;
    let x: Vec<f32> = (0..len)
        .map(|t| 0.3 * (t as f32 * 0.031).sin() + 0.05 * ((t * 7919 % 1000) as f32 / 1000.0))
        .collect();
    let mut e = Engine::new(Settings::default(), 44_100.0, 2, 512).unwrap();
    let mut acc = 0.0;
    for s in (0..len).step_by(512) {
        let end = (s + 512).min(len);
        e.process(&[&x[s..end], &x[s..end]]);
        acc += e.stem(Stem::Foreground, 0)[0];
    }
    println!("{acc}");
}
