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
fn eval_scores_several_pairs_at_once_and_refuses_unpaired_ones() {
    let dir = tempfile::tempdir().unwrap();
    write_clip(&dir.path().join("in-a.wav"), 2, 44_100, 30_000, 32);
    write_clip(&dir.path().join("in-b.wav"), 2, 44_100, 30_000, 16);
    let out = unweave(
        &[
            "eval", "-r", "in-a.wav", "-e", "in-a.wav", "-r", "in-a.wav", "-e", "in-b.wav",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let summary: Vec<f64> = text
        .lines()
        .rev()
        .take(2)
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    // The last line is the second pair: a 16-bit copy is close but not perfect.
    assert!(
        summary[1] > 100.0 && summary[0] > 40.0 && summary[0] < 100.0,
        "{text}"
    );
    let out = unweave(
        &["eval", "-r", "in-a.wav", "-r", "in-b.wav", "-e", "in-a.wav"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn stems_writes_drums_bass_other_and_lead_that_sum_to_the_input() {
    let dir = tempfile::tempdir().unwrap();
    write_clip(&dir.path().join("in-band.wav"), 2, 44_100, 100_000, 32);
    let out = unweave(
        &["separate", "-q", "-a", "stems", "in-band.wav", "-o", "out"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (mix, _) = common::read_wav(&dir.path().join("in-band.wav"));
    let stems: Vec<Vec<Vec<f32>>> = ["drums", "bass", "other", "lead"]
        .iter()
        .map(|s| common::read_wav(&dir.path().join(format!("out/in-band.{s}.wav"))).0)
        .collect();
    assert_eq!(
        std::fs::read_dir(dir.path().join("out")).unwrap().count(),
        4
    );
    for c in 0..2 {
        let worst = (0..mix[c].len())
            .map(|t| (stems.iter().map(|s| s[c][t]).sum::<f32>() - mix[c][t]).abs())
            .fold(0.0, f32::max);
        assert!(
            worst < 1e-4,
            "the four stems do not sum to the input ({worst})"
        );
    }
}

#[test]
fn repet_repet_sim_and_2dft_write_foreground_and_background_with_the_latency_removed() {
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
    for (algorithm, extra) in [
        ("repet", "lookahead=0.5"),
        ("repet-sim", "neighbours=10"),
        ("2dft", "patch_length=4"),
    ] {
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
        if algorithm != "repet" {
            // The command line runs REPET-SIM's period model, and two of 2DFT's patches
            // in three, on a thread of its own, a few blocks ahead: its stems are still
            // the engine's to the bit.
            let mut settings = unweave::engine::Settings {
                algorithm: unweave::engine::Algorithm::parse(algorithm).unwrap(),
                ..Default::default()
            };
            settings.set_from_str(extra).unwrap();
            let mut engine = unweave::engine::Engine::new(settings, rate as f32, 1, 512).unwrap();
            let latency = engine.latency();
            let out = common::run_fixed(&mut engine, &mix, 512, latency);
            for (stem, written) in [
                (unweave::engine::Stem::Foreground, &f),
                (unweave::engine::Stem::Background, &b),
            ] {
                let engine = &out[stem as usize][0][latency..latency + len];
                assert!(
                    engine
                        .iter()
                        .zip(&written[0])
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{algorithm} {stem:?}: the command line's stem is not the engine's"
                );
            }
        }
    }
}

/// A RIFF/WAVE file written by hand: `format` tag, `channels`, `rate`, `bits`, a data
/// chunk that claims `claimed` bytes and holds `data`.
fn raw_wav(format: u16, channels: u16, rate: u32, bits: u16, claimed: u32, data: &[u8]) -> Vec<u8> {
    let block_align = channels.max(1) * bits.div_ceil(8);
    let mut w = Vec::new();
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + claimed).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&format.to_le_bytes());
    w.extend_from_slice(&channels.to_le_bytes());
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * block_align as u32).to_le_bytes());
    w.extend_from_slice(&block_align.to_le_bytes());
    w.extend_from_slice(&bits.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&claimed.to_le_bytes());
    w.extend_from_slice(data);
    w
}

/// The rest of the bad-input matrix: files that lie in their headers, formats and
/// rates the engine cannot take, and a disk that fills up while stems are written.
/// Each gets one clear line, exit code 1 and no stem left behind.
#[test]
fn lying_headers_odd_formats_and_a_full_disk_leave_no_stem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pcm: Vec<u8> = (0..40_000u32)
        .flat_map(|i| ((i % 200) as i16 * 100).to_le_bytes())
        .collect();
    let files: &[(&str, Vec<u8>)] = &[
        (
            "in-zero-channels.wav",
            raw_wav(1, 0, 44_100, 16, 8_000, &pcm[..8_000]),
        ),
        (
            "in-huge-claim.wav",
            raw_wav(1, 2, 44_100, 16, 0xFFFF_FF00, &pcm[..8_000]),
        ),
        (
            "in-rate-1khz.wav",
            raw_wav(1, 1, 1_000, 16, pcm.len() as u32, &pcm),
        ),
        (
            "in-rate-zero.wav",
            raw_wav(1, 1, 0, 16, pcm.len() as u32, &pcm),
        ),
        (
            "in-adpcm.wav",
            raw_wav(2, 1, 44_100, 4, pcm.len() as u32, &pcm),
        ),
        (
            "in-17-channels.wav",
            raw_wav(1, 17, 44_100, 16, 34 * 1_000, &pcm[..34_000]),
        ),
        ("in-header-only.wav", raw_wav(1, 2, 44_100, 16, 0, &[])),
    ];
    for (name, bytes) in files {
        std::fs::write(d.join(name), bytes).unwrap();
    }
    for (name, _) in files {
        let out = unweave(&["separate", name], d);
        let err = stderr(&out);
        eprintln!("{name}: {}", err.trim());
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains(name),
            "{name}: the message names the file: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{name}: one line: {err}");
        assert!(!err.contains("panicked"), "{name} panicked: {err}");
        assert!(outputs(d).is_empty(), "{name} left {:?}", outputs(d));
    }
}

/// A disk that fills up mid-stem: the shell lowers the file-size limit and ignores
/// SIGXFSZ, so writes past 64 KiB fail with EFBIG as they would with ENOSPC.
#[cfg(target_os = "linux")]
#[test]
fn a_disk_filling_up_mid_stem_leaves_no_stem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_clip(&d.join("in-long.wav"), 2, 44_100, 200_000, 16);
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 128; exec '{}' separate in-long.wav -o out",
            env!("CARGO_BIN_EXE_unweave")
        ))
        .current_dir(d)
        .output()
        .unwrap();
    let err = stderr(&out);
    eprintln!("{}", err.trim());
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("in-long"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let left: Vec<_> = std::fs::read_dir(d.join("out"))
        .map(|r| r.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "a full disk left {left:?}");
}

/// Peak resident memory of this process's finished children, in bytes.
#[cfg(target_os = "linux")]
fn children_peak_memory() -> u64 {
    // SAFETY: getrusage only writes the struct we hand it.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss as u64 * 1024
    }
}

/// Files stream through in blocks: separating 200 s takes no more memory than 20 s
/// (an hour of stereo does not need an hour of RAM). Reading the long file whole
/// would add 70 MB of samples.
#[cfg(target_os = "linux")]
#[test]
fn a_long_file_streams_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_clip(&d.join("in-short.wav"), 2, 44_100, 20 * 44_100, 16);
    write_clip(&d.join("in-long.wav"), 2, 44_100, 200 * 44_100, 16);
    let run = |name: &str| {
        let out = unweave(
            &["separate", name, "-o", "out", "--bit-depth", "16", "-q"],
            d,
        );
        assert!(out.status.success(), "{}", stderr(&out));
        children_peak_memory()
    };
    let short = run("in-short.wav");
    let long = run("in-long.wav");
    eprintln!(
        "peak memory: 20 s → {:.1} MB, 200 s → {:.1} MB",
        short as f64 / 1e6,
        long as f64 / 1e6
    );
    assert!(
        long < short + 16_000_000,
        "200 s took {long} bytes, 20 s {short}: the file is not streamed"
    );
    let stem = std::fs::metadata(d.join("out/in-long.harmonic.wav"))
        .unwrap()
        .len();
    assert!(
        stem > 200 * 44_100 * 4,
        "the long stem is whole ({stem} bytes)"
    );
}

/// The error of `estimate` against `reference` over their common length, in dB below
/// the reference (the SNR).
fn snr_db(reference: &[f32], estimate: &[f32]) -> f32 {
    let n = reference.len().min(estimate.len());
    let signal: f64 = reference[..n].iter().map(|x| f64::from(*x).powi(2)).sum();
    let noise: f64 = reference[..n]
        .iter()
        .zip(&estimate[..n])
        .map(|(a, b)| f64::from(a - b).powi(2))
        .sum();
    (10.0 * (signal / noise.max(1e-30)).log10()) as f32
}

/// The lag (of `b` against `a`, in samples, within ±`range`) at which they match best.
fn best_lag(a: &[f32], b: &[f32], range: i64) -> i64 {
    (-range..=range)
        .max_by(|&x, &y| {
            let score = |lag: i64| -> f64 {
                (0..a.len() as i64)
                    .filter_map(|t| {
                        let u = t + lag;
                        (u >= 0 && (u as usize) < b.len())
                            .then(|| f64::from(a[t as usize]) * f64::from(b[u as usize]))
                    })
                    .sum()
            };
            score(x).total_cmp(&score(y))
        })
        .unwrap()
}

/// MP3 and Ogg Vorbis keep their timing: the encoder delay and padding the file declares
/// (LAME/Xing header, granule positions) are trimmed, so the stems of a 1 s source start
/// at its first sample, have its exact length, and sum to what ffmpeg decodes from the
/// file. The fixtures are `tests/fixtures/gapless_source.wav` encoded by ffmpeg 5.1
/// (`-c:a libmp3lame -b:a 192k`, `-c:a libvorbis -q:a 5`) and ffmpeg's own decodes.
#[test]
fn compressed_files_keep_their_timing() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (source, _) = common::read_wav(&fixtures.join("gapless_source.wav"));
    for (file, stem) in [("gapless.mp3", "gapless"), ("gapless.ogg", "gapless")] {
        let dir = tempfile::tempdir().unwrap();
        let out = unweave(
            &[
                "separate",
                "-q",
                fixtures.join(file).to_str().unwrap(),
                "-o",
                "stems",
            ],
            dir.path(),
        );
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        let read = |s: &str| common::read_wav(&dir.path().join(format!("stems/{stem}.{s}.wav"))).0;
        let (h, p) = (read("harmonic"), read("percussive"));
        let (ffmpeg, _) = common::read_wav(&fixtures.join(format!("{file}.ffmpeg.wav")));
        for c in 0..2 {
            let sum: Vec<f32> = h[c].iter().zip(&p[c]).map(|(a, b)| a + b).collect();
            assert_eq!(
                sum.len(),
                source[c].len(),
                "{file}: not the source's length"
            );
            assert_eq!(best_lag(&source[c], &sum, 2048), 0, "{file}: shifted");
            let against_ffmpeg = snr_db(&ffmpeg[c], &sum);
            let against_source = snr_db(&source[c], &sum);
            eprintln!(
                "{file} channel {c}: {against_ffmpeg:.1} dB against ffmpeg's decode, {against_source:.1} dB against the source"
            );
            assert!(
                against_ffmpeg > 40.0,
                "{file}: {against_ffmpeg} dB against ffmpeg"
            );
        }
    }
}
