//! Prints the period REPET tracks through a file, twice a second:
//! `cargo run --release --example repet_period -- FILE.wav [NAME=VALUE ...]`.
use unweave::engine::{Algorithm, Engine, Settings};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("a WAV file");
    let mut settings = Settings {
        algorithm: Algorithm::Repet,
        ..Settings::default()
    };
    for pair in args {
        settings.set_from_str(&pair).expect("a setting");
    }
    let mut reader = hound::WavReader::open(&path).expect("a readable WAV file");
    let spec = reader.spec();
    let channels = spec.channels as usize;
    let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => reader
            .samples::<i32>()
            .map(|s| s.unwrap() as f32 * scale)
            .collect(),
    };
    let sr = spec.sample_rate as f32;
    let block = (sr / 2.0) as usize;
    let mut engine = Engine::new(settings, sr, channels, block).expect("an engine");
    for (i, frames) in samples.chunks(block * channels).enumerate() {
        let split: Vec<Vec<f32>> = (0..channels)
            .map(|c| frames.iter().skip(c).step_by(channels).copied().collect())
            .collect();
        engine.process(&split);
        let period = engine.period().map(|(p, _)| format!("{p:.4} s"));
        println!(
            "{:5.1} s  {}",
            (i + 1) as f32 * 0.5,
            period.unwrap_or("-".into())
        );
    }
}
