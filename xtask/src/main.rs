//! `cargo xtask bundle unweave --release`: nice-plug's bundler.
//! `cargo xtask install`: release bundles, copied into this user's plugin folders.
//! `cargo xtask test`: the whole test suite (what `.ci/run` runs).

use std::path::{Path, PathBuf};
use std::process::Command;

use nice_plug_xtask::Result;

const PACKAGE: &str = "unweave";
const BUNDLE: &str = "Unweave";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn bundle_release() -> Result<()> {
    nice_plug_xtask::main_with_args(
        "cargo xtask",
        ["bundle", PACKAGE, "--release"].map(String::from),
    )
}

/// Where CLAP and VST3 plugins go for the current user on this system.
fn plugin_dirs() -> Result<(PathBuf, PathBuf)> {
    let home = || {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .ok_or_else(|| anyhow_msg("HOME is not set"))
    };
    if cfg!(target_os = "macos") {
        let base = home()?.join("Library/Audio/Plug-Ins");
        Ok((base.join("CLAP"), base.join("VST3")))
    } else if cfg!(windows) {
        let common = std::env::var_os("COMMONPROGRAMFILES")
            .map(PathBuf::from)
            .ok_or_else(|| anyhow_msg("COMMONPROGRAMFILES is not set"))?;
        Ok((common.join("CLAP"), common.join("VST3")))
    } else {
        let home = home()?;
        Ok((home.join(".clap"), home.join(".vst3")))
    }
}

fn anyhow_msg(msg: &str) -> std::io::Error {
    std::io::Error::other(msg.to_string())
}

fn copy_recursively(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}

fn install() -> Result<()> {
    bundle_release()?;
    let bundled = root().join("target/bundled");
    let (clap_dir, vst3_dir) = plugin_dirs()?;
    for (name, dir) in [
        (format!("{BUNDLE}.clap"), clap_dir),
        (format!("{BUNDLE}.vst3"), vst3_dir),
    ] {
        let from = bundled.join(&name);
        let to = dir.join(&name);
        std::fs::create_dir_all(&dir)?;
        if to.is_dir() {
            std::fs::remove_dir_all(&to)?;
        }
        copy_recursively(&from, &to)?;
        println!("installed {}", to.display());
    }
    Ok(())
}

fn test(extra: &[String]) -> Result<()> {
    bundle_release()?;
    let bundle = root().join("target/bundled").join(format!("{BUNDLE}.clap"));
    // Tests run optimised (see [profile.test]) with debug assertions, so nice-plug's
    // allocation checker guards every `process` call of the plugin they host.
    let cargo = || {
        let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.current_dir(root());
        c
    };
    // Examples have no tests: build them apart, so the run ends on a real test summary.
    let status = cargo()
        .args(["build", "--package", PACKAGE, "--examples"])
        .status()?;
    if !status.success() {
        return Err(anyhow_msg("examples do not build").into());
    }
    let status = cargo()
        .env("UNWEAVE_CLAP_BUNDLE", &bundle)
        .env("UNWEAVE_REQUIRE_CORPUS", "1")
        .args([
            "test",
            "--package",
            PACKAGE,
            "--features",
            "assert_process_allocs",
        ])
        .args(["--lib", "--bins", "--tests", "--benches"])
        .args(extra)
        .status()?;
    if !status.success() {
        return Err(anyhow_msg("tests failed").into());
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("install") => install(),
        Some("test") => test(&args[1..]),
        _ => nice_plug_xtask::main(),
    }
}
