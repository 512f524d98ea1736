//! Runs one algorithm at its defaults over stereo audio (a one-second loop under tones
//! and noise, so that the repeating family finds a period), for a profiler:
//! `cargo run --release --example profile -- repet-sim` (any `--algorithm` name; HPSS
//! when none is given). The first 30 s fill the rolling buffers; the next 30 s are
//! timed, five times over, and the fastest pass is printed in milliseconds per 10 s of
//! audio: on a shared machine the fastest of several passes is the steadiest figure.
//! Before that it prints the cost of each 10 s of the first 30 s from a fresh engine
//! (the warm-up, where buffers are still filling), and the construction time.
//! `NOISE=1` loops two seconds of white noise instead (many more peaks for 2DFT);
//! `FIRST=1` only runs fresh engines over their first 10 s, for a profiler.
use std::time::Instant;
use unweave::engine::{Algorithm, Engine, Settings, Stem};

const RATE: usize = 44_100;
const BLOCK: usize = 512;

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "hpss".into());
    let algorithm = Algorithm::parse(&name).expect("an algorithm name");
    let len = 60 * RATE;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let cycle: Vec<f32> = if std::env::var_os("NOISE").is_some() {
        (0..2 * RATE)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.4
            })
            .collect()
    } else {
        (0..RATE)
            .map(|t| ((t * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.2)
            .collect()
    };
    let x: Vec<f32> = (0..len)
        .map(|t| 0.3 * (t as f32 * 0.031).sin() + cycle[t % cycle.len()])
        .collect();
    let settings = Settings {
        algorithm,
        ..Settings::default()
    };
    let mut e = Engine::new(settings, RATE as f32, 2, BLOCK).unwrap();
    let mut acc = 0.0;
    let mut run = |e: &mut Engine, x: &[f32]| {
        for s in (0..x.len()).step_by(BLOCK) {
            let end = (s + BLOCK).min(x.len());
            e.process(&[&x[s..end], &x[s..end]]);
            acc += e.stem(Stem::Foreground, 0)[0];
        }
    };
    let (prime, timed) = x.split_at(len / 2);
    if std::env::var_os("FIRST").is_some() {
        for _ in 0..8 {
            let mut fresh = Engine::new(settings, RATE as f32, 2, BLOCK).unwrap();
            run(&mut fresh, &prime[..10 * RATE]);
        }
        return;
    }
    for k in 0..3 {
        let mut fresh = Engine::new(settings, RATE as f32, 2, BLOCK).unwrap();
        let start = Instant::now();
        for chunk in prime.chunks(10 * RATE) {
            let t = Instant::now();
            run(&mut fresh, chunk);
            if k == 2 {
                print!("{:.1} ", t.elapsed().as_secs_f64() * 1e3);
            }
        }
        if k == 2 {
            println!(
                " ms per 10 s chunk from a fresh engine (built in {:.1} ms total)",
                start.elapsed().as_secs_f64() * 1e3
            );
        }
    }
    let t = Instant::now();
    let fresh = Engine::new(settings, RATE as f32, 2, BLOCK).unwrap();
    println!("construction {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    drop(fresh);
    run(&mut e, prime);
    let mut fastest = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        run(&mut e, timed);
        fastest = fastest.min(start.elapsed().as_secs_f64());
    }
    let per_10s = fastest * 1e3 * 10.0 * RATE as f64 / timed.len() as f64;
    println!(
        "{name}: {per_10s:.1} ms per 10 s ({:.0}x real time)  [{acc}]",
        1e4 / per_10s
    );
}
