//! The release bundles in hosts we did not write: the formats' own validators
//! (free-audio's clap-validator, Steinberg's VST3 validator) and a JUCE host
//! (pedalboard). `cargo xtask test` builds the bundles, makes the Python environment
//! for pedalboard under `target/`, and points these tests at them; run alone, without
//! them, each test says so and checks nothing (under CI it fails instead).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A path from an environment variable that `cargo xtask test` sets; `None` (said
/// loudly) when it is not set, a failure under the test command or CI.
fn given(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.exists() => Some(p),
        Some(p) => panic!("{var}={} does not exist", p.display()),
        None => {
            let msg = format!(
                "\n!!!!!!!! {var} not set — this host test NOT RUN (run `cargo xtask test`) !!!!!!!!\n"
            );
            if std::env::var_os("UNWEAVE_REQUIRE_HOSTS").is_some()
                || std::env::var("CI").is_ok_and(|v| v == "true")
            {
                panic!("{msg}");
            }
            eprintln!("{msg}");
            None
        }
    }
}

/// The prebuilt validators beside the checkout (`../shared/tools/bin`).
fn tool(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("UNWEAVE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/bin"));
    let path = dir.join(name);
    if path.is_file() {
        return Some(path);
    }
    let msg = format!(
        "\n!!!!!!!! {} not found — validator NOT RUN !!!!!!!!\n",
        path.display()
    );
    if std::env::var_os("UNWEAVE_REQUIRE_HOSTS").is_some()
        || std::env::var("CI").is_ok_and(|v| v == "true")
    {
        panic!("{msg}");
    }
    eprintln!("{msg}");
    None
}

/// Runs a command; its exit status and its output (stdout, then stderr) without the
/// terminal's colour codes.
fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), without_colours(&text))
}

/// `text` without ANSI escape sequences (`ESC [ … letter`).
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The last lines of a long report, for a failure message.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[test]
fn clap_validator_passes_every_test() {
    let (Some(validator), Some(bundle)) = (tool("clap-validator"), given("UNWEAVE_CLAP_BUNDLE"))
    else {
        return;
    };
    let (ok, text) = run(Command::new(&validator).arg("validate").arg(&bundle));
    let summary = text
        .lines()
        .rev()
        .find(|l| l.contains("tests run"))
        .unwrap_or("")
        .to_string();
    eprintln!("clap-validator: {summary}");
    assert!(
        ok && summary.contains(" 0 failed"),
        "clap-validator:\n{}",
        tail(&text, 60)
    );
}

#[test]
fn clap_validator_fuzzes_for_a_minute_without_a_failure() {
    let (Some(validator), Some(bundle)) = (tool("clap-validator"), given("UNWEAVE_CLAP_BUNDLE"))
    else {
        return;
    };
    let (ok, text) = run(Command::new(&validator)
        .args(["fuzz", "--duration", "60s", "--jobs", "1"])
        .arg(&bundle));
    eprintln!("clap-validator fuzz: {}", tail(&text, 3));
    assert!(ok, "clap-validator fuzz:\n{}", tail(&text, 60));
}

#[test]
fn vst3_validator_extensive_set_passes_without_an_error() {
    let (Some(validator), Some(bundle)) = (tool("vst3-validator"), given("UNWEAVE_VST3_BUNDLE"))
    else {
        return;
    };
    let (_, text) = run(Command::new(&validator).arg("-e").arg(&bundle));
    let result = text
        .lines()
        .find(|l| l.starts_with("Result:"))
        .unwrap_or("no result line")
        .to_string();
    eprintln!("vst3-validator -e: {result}");
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("ERROR:")).collect();
    assert!(
        result.contains(" 0 tests failed") && errors.is_empty(),
        "vst3-validator: {result}\n{}",
        errors.join("\n")
    );
}

/// Channel 0 of a WAV the pedalboard script wrote.
fn left(dir: &Path, name: &str) -> Vec<f32> {
    common::read_wav(&dir.join(name)).0.swap_remove(0)
}

/// Ardour's headless Lua interpreter and its VST3 scanner (Debian's `ardour`, which
/// `cargo xtask test` installs): `(ardour7-lua, ardour-vst3-scanner)`.
fn ardour() -> Option<(PathBuf, PathBuf)> {
    for version in ["8", "7"] {
        let lua = PathBuf::from(format!("/usr/bin/ardour{version}-lua"));
        let scanner = PathBuf::from(format!("/usr/lib/ardour{version}/ardour-vst3-scanner"));
        if lua.is_file() && scanner.is_file() {
            return Some((lua, scanner));
        }
    }
    let msg = "\n!!!!!!!! Ardour (ardour7-lua) not found — this host test NOT RUN !!!!!!!!\n";
    if std::env::var_os("UNWEAVE_REQUIRE_HOSTS").is_some()
        || std::env::var("CI").is_ok_and(|v| v == "true")
    {
        panic!("{msg}");
    }
    eprintln!("{msg}");
    None
}

/// Ardour, a DAW we did not write, reads the VST3 as its users meet it: the outputs
/// named for their stems, and the latency it compensates the plugin's own, also after
/// Algorithm changes it. Ardour 7 reads port names once, when it loads the plugin,
/// and ignores `kIoTitlesChanged`: so each auxiliary port's name there must carry
/// every stem it may hold ("Foreground / Drums", …).
#[test]
fn ardour_reads_the_stem_names_and_follows_the_latency_of_the_vst3() {
    let Some(bundle) = given("UNWEAVE_VST3_BUNDLE") else {
        return;
    };
    let Some((lua, scanner)) = ardour() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Ardour's caches and settings in the test's own folder, not the user's.
    let isolated = |c: &mut Command| {
        c.env("XDG_CACHE_HOME", dir.path().join("cache"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("VST3_PATH", bundle.parent().unwrap());
    };
    let mut scan = Command::new(&scanner);
    isolated(&mut scan);
    let (ok, text) = run(scan
        .env("LD_LIBRARY_PATH", scanner.parent().unwrap())
        .args(["-q", "-f"])
        .arg(&bundle));
    assert!(ok, "ardour-vst3-scanner failed:\n{}", tail(&text, 20));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hosts/ardour_session.lua");
    // Algorithm is a list: Stems is its sixth entry.
    let mut session = Command::new(&lua);
    isolated(&mut session);
    let (ok, text) = run(session
        .arg(&script)
        .arg(dir.path().join("session"))
        .arg("5"));
    assert!(ok, "the Ardour session failed:\n{}", tail(&text, 40));
    let fact = |prefix: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("Ardour printed no `{prefix}`:\n{}", tail(&text, 40)))
            .to_string()
    };
    for (port, stem) in [
        (0, "Mix"),
        (1, "Mix"),
        (2, "Drums"),
        (3, "Drums"),
        (4, "Bass"),
        (5, "Bass"),
        (6, "Other"),
        (7, "Other"),
        (8, "Lead"),
        (9, "Lead"),
    ] {
        let name = fact(&format!("port loaded {port} "));
        eprintln!("Ardour, output port {port}: {name}");
        assert!(name.contains(stem), "port {port} reads {name:?}: no {stem}");
    }
    let latency = |settings| unweave::engine::latency_of(&settings, 44_100.0).to_string();
    let stems = unweave::engine::Settings {
        algorithm: unweave::engine::Algorithm::Stems,
        ..Default::default()
    };
    assert_eq!(fact("latency loaded "), latency(Default::default()));
    assert_eq!(fact("latency stems "), latency(stems));
}

/// pedalboard (Spotify's JUCE host) as a new user drives it: a fresh instance
/// separates; an algorithm change after processing has started is heard, though this
/// host never re-activates a plugin; a `.vstpreset` round trip restores the settings;
/// Stems with the lead soloed plays the lead; and the output does not depend on the
/// host's buffer size.
#[test]
fn a_juce_host_separates_follows_changes_and_restores_presets() {
    let (Some(python), Some(bundle)) = (given("UNWEAVE_PYTHON"), given("UNWEAVE_VST3_BUNDLE"))
    else {
        return;
    };
    let Some(corpus) = common::corpus() else {
        return;
    };
    let item = corpus.join("repet_dev_01_organ");
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hosts/pedalboard_host.py");
    let (ok, text) = run(Command::new(&python)
        .arg(&script)
        .arg(&bundle)
        .arg(item.join("mix.wav"))
        .arg(dir.path()));
    assert!(ok, "the pedalboard script failed:\n{}", tail(&text, 40));
    let out = dir.path();

    // A fresh stereo instance separates: REPET, Balance +100 % is the lead.
    let (truth, _) = common::read_wav(&item.join("foreground.wav"));
    let (mix, _) = common::read_wav(&item.join("mix.wav"));
    let (fresh, _) = common::read_wav(&out.join("fresh_repet.wav"));
    let sdr = |estimate: &[Vec<f32>]| {
        (0..2)
            .map(|c| unweave::metrics::sdr(&truth[c], &estimate[c]))
            .sum::<f64>()
            / 2.0
    };
    let (separated, unprocessed) = (sdr(&fresh), sdr(&mix));
    eprintln!(
        "pedalboard, fresh REPET instance: foreground SDR {separated:.2} dB (the mixture {unprocessed:.2} dB)"
    );
    assert!(
        separated >= unprocessed + 8.0,
        "a fresh instance does not separate: {separated:.2} dB against the mixture's {unprocessed:.2}"
    );

    // HPSS first, then Algorithm → REPET mid-stream: the last 5 s are the REPET ones.
    let (switched, reference) = (left(out, "switch.wav"), left(out, "switch_reference.wav"));
    let tail_len = 5 * 44_100;
    let a = &switched[switched.len() - tail_len..];
    let b = &reference[reference.len() - tail_len..];
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(
        worst < 1e-6,
        "the algorithm change is not heard (max difference {worst})"
    );

    // The preset restores what was set (Algorithm REPET, Lookahead 2 s, Balance +100 %).
    let report = std::fs::read_to_string(out.join("report.json")).unwrap();
    eprintln!("pedalboard report: {report}");
    let compact: String = report.split_whitespace().collect();
    for expected in [
        "\"algorithm\":\"REPET\"",
        "\"lookahead\":2.0",
        "\"balance\":100.0",
    ] {
        assert!(
            compact.contains(expected),
            "the preset did not restore {expected}: {report}"
        );
    }
    let (restored, _) = common::read_wav(&out.join("preset_restored.wav"));
    assert!(
        sdr(&restored) >= unprocessed + 8.0,
        "the restored preset does not separate"
    );

    // Stems with the lead soloed: the main output is the lead (REPET-SIM's cue).
    let (lead, _) = common::read_wav(&out.join("stems_lead_solo.wav"));
    let lead_sdr = sdr(&lead);
    eprintln!("pedalboard, Stems with Lead solo: lead SDR {lead_sdr:.2} dB");
    assert!(
        lead_sdr >= unprocessed + 8.0,
        "Stems' soloed lead does not separate: {lead_sdr:.2} dB against the mixture's {unprocessed:.2}"
    );

    // Mono input: the mono layout separates as well.
    let mono = left(out, "mono.wav");
    let mono_sdr = unweave::metrics::sdr(&truth[0], &mono);
    let mono_mix = unweave::metrics::sdr(&truth[0], &mix[0]);
    eprintln!("pedalboard, mono: foreground SDR {mono_sdr:.2} dB (the mixture {mono_mix:.2} dB)");
    assert!(
        mono_sdr >= mono_mix + 8.0,
        "a mono instance does not separate"
    );

    // Buffer sizes 64, 333 and 4096 give the same output.
    let base = left(out, "block_64.wav");
    for name in ["block_333.wav", "block_4096.wav"] {
        let other = left(out, name);
        assert!(
            base.len() == other.len()
                && base
                    .iter()
                    .zip(&other)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
            "{name} differs from 64-sample buffers"
        );
    }
}
