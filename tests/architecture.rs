//! The architecture's rules (ARCHITECTURE.md), checked on the sources: a rule a
//! change breaks fails here rather than in review.

use std::path::{Path, PathBuf};

use unweave::engine::registry::SEPARATORS;
use unweave::engine::settings::SPECS;

/// The separator modules, by file.
const SEPARATOR_FILES: [&str; 6] = [
    "src/engine/hpss.rs",
    "src/engine/repet.rs",
    "src/engine/repet_sim.rs",
    "src/engine/ft2d/mod.rs",
    "src/engine/nmf_filter.rs",
    "src/engine/stems.rs",
];
const SEPARATOR_MODULES: [&str; 6] = ["hpss", "repet", "repet_sim", "ft2d", "nmf_filter", "stems"];
/// A cascade composes the separators it names, through their `mask_frame` (and REPET-SIM
/// runs REPET on its own buffer for its period model); nothing else imports another
/// separator, and no separator imports a cascade.
const CASCADES: [(&str, &[&str]); 2] = [
    ("src/engine/stems.rs", &["hpss", "repet_sim"]),
    ("src/engine/repet_sim.rs", &["repet"]),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path, text));
        }
    }
}

fn src() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    sources(&root().join("src"), &mut out);
    out
}

/// The code of a file before its unit tests.
fn outside_tests(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

#[test]
fn no_source_file_is_over_700_lines() {
    for (path, text) in src() {
        let lines = text.lines().count();
        assert!(lines <= 700, "{}: {lines} lines", path.display());
    }
}

#[test]
fn each_setting_id_is_spelled_once_in_the_sources() {
    let files = src();
    for spec in SPECS {
        let quoted = format!("\"{}\"", spec.id);
        let places: Vec<String> = files
            .iter()
            .flat_map(|(path, text)| {
                let count = outside_tests(text).matches(&quoted).count();
                std::iter::repeat_n(path.display().to_string(), count)
            })
            .collect();
        assert_eq!(places.len(), 1, "{} is spelled in {places:?}", spec.id);
    }
}

#[test]
fn no_separator_imports_another_or_climbs_back_up() {
    for file in SEPARATOR_FILES {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let code = outside_tests(&text);
        for module in SEPARATOR_MODULES {
            if file.contains(&format!("/{module}.rs")) || file.contains(&format!("/{module}/")) {
                continue;
            }
            let composes = CASCADES
                .iter()
                .any(|(cascade, stages)| *cascade == file && stages.contains(&module));
            if composes {
                continue;
            }
            for path in [format!("super::{module}"), format!("engine::{module}")] {
                let imports =
                    code.contains(&format!("{path}::")) || code.contains(&format!("{path};"));
                assert!(!imports, "{file} uses {path}");
            }
        }
        for up in [
            "super::registry",
            "engine::registry",
            "crate::engine::Engine",
            "super::Engine",
        ] {
            assert!(!code.contains(up), "{file} uses {up}");
        }
    }
}

#[test]
fn the_editor_does_not_import_the_plugin() {
    for (path, text) in src() {
        if path.components().any(|c| c.as_os_str() == "editor") {
            assert!(
                !text.contains("crate::plugin"),
                "{} imports the plugin",
                path.display()
            );
        }
        if path.components().any(|c| c.as_os_str() == "engine") {
            for outside in [
                "crate::plugin",
                "crate::editor",
                "crate::params",
                "crate::cli",
                "nice_plug",
            ] {
                assert!(!text.contains(outside), "{} uses {outside}", path.display());
            }
        }
    }
}

#[test]
fn every_separator_and_the_stft_have_unit_tests_beside_them() {
    for file in SEPARATOR_FILES.iter().chain(&["src/engine/stft.rs"]) {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(text.contains("#[test]"), "{file} has no unit test");
    }
    assert_eq!(
        SEPARATORS.len(),
        SEPARATOR_FILES.len(),
        "a separator is missing here"
    );
}
