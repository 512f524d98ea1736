//! The `unweave` command line as a user runs it: stems out, bad input refused
//! with one clear line and a non-zero exit, never a partial stem left behind.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn unweave(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unweave"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_clip(path: &Path, channels: u16, rate: u32, len: usize, bits: u16) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if bits == 32 {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let (h, p) = common::tones_and_clicks(len, rate as f32, 6_000);
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for t in 0..len {
        for c in 0..channels {
            let x = (h[t] + p[t]) * (1.0 - 0.2 * c as f32);
            if bits == 32 {
                w.write_sample(x).unwrap();
            } else {
                w.write_sample((x * 32767.0) as i16).unwrap();
            }
        }
    }
    w.finalize().unwrap();
}

/// Files other than the inputs in `dir`, hidden ones included.
fn outputs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        // Inputs are `in-<name>.<ext>`: one dot. Stems and temporary files have more.
        .filter(|n| !(n.starts_with("in") && n.matches('.').count() == 1))
        .collect();
    names.sort();
    names
}

#[test]
fn separates_into_stems_that_sum_to_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in-song.wav");
    write_clip(&input, 2, 48_000, 70_000, 32);
    let out = unweave(
        &["separate", "-q", "in-song.wav", "-o", "stems"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (mix, rate) = common::read_wav(&input);
    let (h, hr) = common::read_wav(&dir.path().join("stems/in-song.harmonic.wav"));
    let (p, _) = common::read_wav(&dir.path().join("stems/in-song.percussive.wav"));
    assert_eq!((rate, hr), (48_000, 48_000));
    assert_eq!((h.len(), p.len()), (2, 2));
    for c in 0..2 {
        assert_eq!(h[c].len(), mix[c].len(), "stems keep the input's length");
        let worst = (0..mix[c].len())
            .map(|t| (h[c][t] + p[c][t] - mix[c][t]).abs())
            .fold(0.0, f32::max);
        assert!(
            worst < 1e-5,
            "stems do not sum to the input, latency left in? ({worst})"
        );
        // The clicks go to the percussive stem, the tones to the harmonic one.
        let e = |x: &[f32]| x.iter().map(|v| v * v).sum::<f32>();
        assert!(e(&h[c]) > 2.0 * e(&p[c]));
    }
    assert!(
        !dir.path().join("stems").read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.'))
    );
}

#[test]
fn residual_stem_and_integer_output() {
    let dir = tempfile::tempdir().unwrap();
    write_clip(&dir.path().join("in-a.wav"), 1, 44_100, 30_000, 16);
    let out = unweave(
        &[
            "separate",
            "-q",
            "in-a.wav",
            "--set",
            "separation=2",
            "--bit-depth",
            "16",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        outputs(dir.path()),
        [
            "in-a.harmonic.wav",
            "in-a.percussive.wav",
            "in-a.residual.wav"
        ]
    );
    let r = hound::WavReader::open(dir.path().join("in-a.residual.wav")).unwrap();
    assert_eq!(
        (r.spec().bits_per_sample, r.spec().channels, r.duration()),
        (16, 1, 30_000)
    );
}

#[test]
fn many_files_in_parallel() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..4).map(|i| format!("in-{i}.wav")).collect();
    for n in &names {
        write_clip(&dir.path().join(n), 2, 44_100, 20_000, 16);
    }
    let mut args = vec!["separate", "-q", "--jobs", "3"];
    args.extend(names.iter().map(String::as_str));
    let out = unweave(&args, dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(outputs(dir.path()).len(), 8);
}

#[test]
fn bad_input_gets_one_clear_line_and_no_partial_stem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("in-empty.wav"), b"").unwrap();
    std::fs::write(
        d.join("in-text.wav"),
        b"this is not audio at all, just some words",
    )
    .unwrap();
    write_clip(&d.join("in-good.wav"), 2, 44_100, 40_000, 16);
    let good = std::fs::read(d.join("in-good.wav")).unwrap();
    std::fs::write(d.join("in-truncated.wav"), &good[..good.len() / 2]).unwrap();
    std::fs::write(d.join("in-notes.txt"), b"x").unwrap();
    let cases: &[(&[&str], &str, i32)] = &[
        (&["separate", "in-missing.wav"], "does not exist", 1),
        (&["separate", "in-empty.wav"], "is empty", 1),
        (&["separate", "in-text.wav"], "not a readable audio file", 1),
        (&["separate", "in-truncated.wav"], "truncated", 1),
        (
            &["separate", "in-good.wav", "--set", "wobble=3"],
            "unknown setting 'wobble'",
            2,
        ),
        (
            &["separate", "in-good.wav", "--set", "harmonic_width=5000"],
            "out of range",
            2,
        ),
        (
            &["separate", "in-good.wav", "--set", "fft_size=1000"],
            "out of range",
            2,
        ),
        (
            &["separate", "in-good.wav", "--set", "harmonic_width"],
            "NAME=VALUE",
            2,
        ),
        (
            &["separate", "in-good.wav", "-o", "in-notes.txt/sub"],
            "cannot create the output folder",
            1,
        ),
        (
            &["separate", "in-good.wav", "--algorithm", "magic"],
            "unknown algorithm",
            2,
        ),
        (
            &["eval", "-r", "in-good.wav", "-e", "in-missing.wav"],
            "does not exist",
            1,
        ),
    ];
    for (args, expected, code) in cases {
        let out = unweave(args, d);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {err}");
        assert!(
            err.contains(expected),
            "{args:?}: expected '{expected}' in: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        assert!(outputs(d).is_empty(), "{args:?} left {:?}", outputs(d));
    }
}

#[cfg(unix)]
#[test]
fn unwritable_output_folder_leaves_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    write_clip(&dir.path().join("in-x.wav"), 1, 44_100, 10_000, 16);
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
    // Root ignores permissions: then the check cannot be made here.
    if std::fs::write(locked.join("probe"), b"").is_ok() {
        eprintln!("running as root: permission check skipped");
        return;
    }
    let out = unweave(&["separate", "in-x.wav", "-o", "locked"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("permission denied"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(&locked).unwrap().count(), 0);
}

#[test]
fn eval_scores_a_stem_against_its_reference() {
    let dir = tempfile::tempdir().unwrap();
    write_clip(&dir.path().join("in-ref.wav"), 2, 44_100, 30_000, 32);
    let same = unweave(
        &["eval", "-r", "in-ref.wav", "-e", "in-ref.wav"],
        dir.path(),
    );
    assert!(same.status.success(), "{}", stderr(&same));
    let text = String::from_utf8_lossy(&same.stdout);
    let mean: f64 = text
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(mean > 100.0, "a perfect estimate scores very high: {text}");
    write_clip(&dir.path().join("in-short.wav"), 2, 44_100, 20_000, 32);
    let out = unweave(
        &["eval", "-r", "in-ref.wav", "-e", "in-short.wav"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("frames long"));
}

#[test]
fn repet_and_repet_sim_write_foreground_and_background_with_the_latency_removed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in-loop.wav");
    let rate = 44_100u32;
    let len = 6 * rate as usize;
    let (bg, lead) = common::loop_and_lead(len, rate as f32, 0.9, 77);
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&input, spec).unwrap();
    for t in 0..len {
        w.write_sample(bg[t] + lead[t]).unwrap();
    }
    w.finalize().unwrap();
    let (mix, _) = common::read_wav(&input);
    for (algorithm, extra) in [("repet", "lookahead=0.5"), ("repet-sim", "neighbours=10")] {
        let out_dir = format!("out-{algorithm}");
        let out = unweave(
            &[
                "separate",
                "-q",
                "in-loop.wav",
                "--algorithm",
                algorithm,
                "--set",
                extra,
                "-o",
                &out_dir,
            ],
            dir.path(),
        );
        assert!(out.status.success(), "{algorithm}: {}", stderr(&out));
        let stems = dir.path().join(&out_dir);
        let (f, _) = common::read_wav(&stems.join("in-loop.foreground.wav"));
        let (b, _) = common::read_wav(&stems.join("in-loop.background.wav"));
        assert_eq!((f[0].len(), b[0].len()), (len, len), "{algorithm}");
        let worst = (0..len)
            .map(|t| (f[0][t] + b[0][t] - mix[0][t]).abs())
            .fold(0.0, f32::max);
        assert!(
            worst < 1e-5,
            "{algorithm}: stems do not sum to the input ({worst})"
        );
        // The lead is in the foreground: once something repeats, the foreground is
        // closer to the lead than the mix is.
        let settled = rate as usize * 3..len;
        let gain = unweave::metrics::sdr(&lead[settled.clone()], &f[0][settled.clone()])
            - unweave::metrics::sdr(&lead[settled.clone()], &mix[0][settled.clone()]);
        eprintln!("{algorithm}: foreground {gain:.2} dB closer to the lead than the mix");
        assert!(
            gain > 3.0,
            "{algorithm}: foreground only {gain:.2} dB closer to the lead than the mix"
        );
        assert_eq!(
            std::fs::read_dir(&stems).unwrap().count(),
            2,
            "{algorithm}: two stems, nothing else"
        );
    }
}
