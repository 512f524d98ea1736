//! `cargo xtask bundle unweave --release`: nice-plug's bundler.
//! `cargo xtask install`: release bundles, copied into this user's plugin folders.
//! `cargo xtask test`: the whole test suite (what `.ci/run` runs), with the hosts it
//! needs: Debian packages for the editor, a Python environment with pedalboard.

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

/// Debian packages the tests need beyond Rust: Xvfb and Mesa's software OpenGL to
/// open the editor headless, X11 client libraries the editor loads at run time, and
/// the ALSA and JACK headers for the standalone application; Ardour, a DAW the tests
/// drive the VST3 through (headless, from its Lua interpreter).
const TEST_PACKAGES: &[&str] = &[
    "xvfb",
    "libgl1",
    "libgl1-mesa-dri",
    "libglx-mesa0",
    "libx11-xcb1",
    "libxcb1",
    "libxkbcommon-x11-0",
    "libasound2-dev",
    "libjack-jackd2-dev",
    "pkg-config",
    "ardour",
];

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// Installs the missing [`TEST_PACKAGES`] with apt-get (through sudo unless root).
fn install_test_packages() -> Result<()> {
    if !cfg!(target_os = "linux") {
        return Ok(());
    }
    if Command::new("dpkg-query")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("not a Debian-like system: install Xvfb, Mesa and the ALSA headers yourself");
        return Ok(());
    }
    let missing: Vec<&str> = TEST_PACKAGES
        .iter()
        .copied()
        .filter(|p| !installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("installing {}", missing.join(" "));
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let apt = |args: &[&str]| -> std::io::Result<bool> {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.env("DEBIAN_FRONTEND", "noninteractive");
        Ok(c.args(args).status()?.success())
    };
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(&missing);
    if !apt(&["update", "-q"])? || !apt(&install)? {
        return Err(anyhow_msg(&format!("could not install {}", missing.join(" "))).into());
    }
    Ok(())
}

/// The JUCE host the tests drive the VST3 through, from PyPI: pinned, so a new release
/// cannot change what the test measures.
const HOST_PACKAGES: &[&str] = &["pedalboard==0.9.26", "numpy"];

/// Makes `target/host-venv` (a Python virtual environment with [`HOST_PACKAGES`]) if it
/// is not there yet, and returns its interpreter.
fn host_python() -> Result<PathBuf> {
    let venv = root().join("target/host-venv");
    let python = venv.join(if cfg!(windows) {
        "Scripts/python.exe"
    } else {
        "bin/python"
    });
    let ready = venv.join(".unweave-ready");
    let wanted = HOST_PACKAGES.join(" ");
    if std::fs::read_to_string(&ready).is_ok_and(|s| s == wanted) && python.is_file() {
        return Ok(python);
    }
    println!("making {} with {wanted}", venv.display());
    let system_python = if cfg!(windows) { "python" } else { "python3" };
    let ok = Command::new(system_python)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()?
        .success()
        && Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(HOST_PACKAGES)
            .status()?
            .success();
    if !ok {
        return Err(anyhow_msg(&format!(
            "could not install {wanted} into {}",
            venv.display()
        ))
        .into());
    }
    std::fs::write(&ready, wanted)?;
    Ok(python)
}

fn test(extra: &[String]) -> Result<()> {
    install_test_packages()?;
    bundle_release()?;
    let python = host_python()?;
    let bundle = root().join("target/bundled").join(format!("{BUNDLE}.clap"));
    let vst3 = root().join("target/bundled").join(format!("{BUNDLE}.vst3"));
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
    // The standalone application builds and starts (it only prints its options here:
    // the editor test opens the editor through a host).
    let status = cargo()
        .args([
            "run",
            "--release",
            "--package",
            PACKAGE,
            "--features",
            "standalone",
        ])
        .args(["--bin", "unweave-standalone", "--", "--help"])
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        return Err(anyhow_msg("the standalone application does not build or start").into());
    }
    let status = cargo()
        .env("UNWEAVE_CLAP_BUNDLE", &bundle)
        .env("UNWEAVE_VST3_BUNDLE", &vst3)
        .env("UNWEAVE_PYTHON", &python)
        .env("UNWEAVE_REQUIRE_HOSTS", "1")
        .env("UNWEAVE_REQUIRE_CORPUS", "1")
        .env("UNWEAVE_REQUIRE_EDITOR", "1")
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
