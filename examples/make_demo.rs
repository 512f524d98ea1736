//! Writes `assets/demo.wav`: 8 s of a small band made from scratch here (organ-like
//! chords, a bass line, kick, snare and hi-hat), the demo input of the README.
//!
//! `cargo run --release --example make_demo`

use std::f32::consts::TAU;

const SR: u32 = 44_100;
const BPM: f32 = 112.0;
const SECONDS: f32 = 8.0;

struct Noise(u64);
impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

fn midi(note: f32) -> f32 {
    440.0 * 2f32.powf((note - 69.0) / 12.0)
}

fn main() {
    let len = (SECONDS * SR as f32) as usize;
    let beat = 60.0 / BPM;
    let mut left = vec![0.0f32; len];
    let mut right = vec![0.0f32; len];
    // C – Am – F – G, a chord per bar.
    let chords = [
        [60.0, 64.0, 67.0],
        [57.0, 60.0, 64.0],
        [53.0, 57.0, 60.0],
        [55.0, 59.0, 62.0],
    ];
    let roots = [36.0, 33.0, 29.0, 31.0];
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut hat_state = 0.0f32;
    for t in 0..len {
        let time = t as f32 / SR as f32;
        let bar = ((time / (4.0 * beat)) as usize) % 4;
        let in_beat = time % beat;
        let beat_index = (time / beat) as usize;
        // Organ: three drawbars per chord note, gently swelling.
        let swell = 0.6 + 0.4 * (TAU * 0.25 * time).sin().abs();
        let mut organ = 0.0;
        for (k, note) in chords[bar].iter().enumerate() {
            let f = midi(*note) * (1.0 + 0.002 * (TAU * 5.0 * time + k as f32).sin());
            organ += (TAU * f * time).sin()
                + 0.5 * (TAU * 2.0 * f * time).sin()
                + 0.25 * (TAU * 3.0 * f * time).sin();
        }
        organ *= 0.05 * swell;
        // Bass: root on every beat, plucked.
        let bass = 0.25 * (TAU * midi(roots[bar]) * time).sin() * (-in_beat * 3.0).exp();
        // Kick on 1 and 3, snare on 2 and 4, hats on eighths.
        let mut drums = 0.0;
        if beat_index.is_multiple_of(2) {
            let f = 50.0 + 90.0 * (-in_beat * 30.0).exp();
            drums += 0.7 * (TAU * f * in_beat).sin() * (-in_beat * 9.0).exp();
        } else {
            drums += 0.35 * noise.next() * (-in_beat * 18.0).exp()
                + 0.2 * (TAU * 190.0 * in_beat).sin() * (-in_beat * 25.0).exp();
        }
        let in_eighth = time % (beat / 2.0);
        let n = noise.next();
        hat_state = n - hat_state * 0.2;
        let hat = 0.12 * (n - hat_state) * (-in_eighth * 60.0).exp();
        left[t] = organ * 1.1 + bass + drums + hat * 0.7;
        right[t] = organ * 0.9 + bass + drums + hat * 1.3;
    }
    let peak = left
        .iter()
        .chain(&right)
        .fold(0.0f32, |m, x| m.max(x.abs()));
    let gain = 0.89 / peak;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: SR,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).expect("assets/ is writable");
    for t in 0..len {
        w.write_sample((left[t] * gain * 32767.0).round() as i16)
            .unwrap();
        w.write_sample((right[t] * gain * 32767.0).round() as i16)
            .unwrap();
    }
    w.finalize().unwrap();
    println!("wrote {}", path.display());
}
