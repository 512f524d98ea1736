//! Settings that need a new engine, changed while audio runs, in a CLAP host that never
//! re-activates the plugin (see `src/plugin/swap.rs`).

mod common;

use std::sync::atomic::Ordering;

use clack_host::utils::ClapId;

use common::clap::*;
use common::noise;

/// A host that never re-activates the plugin (it ignores `request_restart`, as JUCE
/// hosts and some DAWs do), processing in real time: every setting that needs a new
/// engine, changed while audio runs, is heard within one second. From then on the
/// stems are bit for bit those of an instance that always had the new settings (the
/// new engine is primed with the input so far), the main output never clicks while the
/// engines cross over, and the reported latency is the new one. The test library runs
/// under the allocation checker.
#[test]
fn settings_that_need_a_new_engine_are_heard_without_reactivation() {
    const SECONDS: f64 = 3.0;
    const CHANGE_AT: f64 = 0.5;
    const HEARD_WITHIN: f64 = 1.0;
    // (what, settings before, the change), as the host sends them: floats normalised,
    // enums as step indices (Algorithm: 0 HPSS, 1 REPET, 2 REPET-SIM, 3 2DFT, 4 NMF,
    // 5 Stems).
    type Case = (
        &'static str,
        &'static [(&'static str, f64)],
        (&'static str, f64),
    );
    let cases: &[Case] = &[
        ("FFT size", &[], ("FFT size", 1.0)),
        ("Low latency", &[], ("Low latency", 1.0)),
        ("Harmonic width", &[], ("Harmonic width", 0.3)),
        ("residual on", &[], ("Separation factor", 0.5)),
        ("HPSS to REPET", &[], ("Algorithm", 1.0)),
        ("Lookahead", &[("Algorithm", 1.0)], ("Lookahead", 0.1)),
        (
            "Buffer length",
            &[("Algorithm", 1.0)],
            ("Buffer length", 0.25),
        ),
        (
            "REPET to REPET-SIM",
            &[("Algorithm", 1.0)],
            ("Algorithm", 2.0),
        ),
        (
            "REPET-SIM to 2DFT",
            &[("Algorithm", 2.0)],
            ("Algorithm", 3.0),
        ),
        ("Patch length", &[("Algorithm", 3.0)], ("Patch length", 0.2)),
        (
            "Neighbourhood",
            &[("Algorithm", 3.0)],
            ("Neighbourhood", 0.6),
        ),
        ("2DFT to NMF", &[("Algorithm", 3.0)], ("Algorithm", 4.0)),
        ("NMF to Stems", &[("Algorithm", 4.0)], ("Algorithm", 5.0)),
        (
            "Drums lookahead",
            &[("Algorithm", 5.0)],
            ("Drums lookahead", 0.4),
        ),
        ("Stems to HPSS", &[("Algorithm", 5.0)], ("Algorithm", 0.0)),
    ];
    let len = (SECONDS * SR) as usize;
    let sine: Vec<f32> = (0..len)
        .map(|t| 0.5 * (std::f32::consts::TAU * 220.0 * t as f32 / SR as f32).sin())
        .collect();
    let (tones, clicks) = common::tones_and_clicks(len, SR as f32, 7_000);
    let hiss = noise(len, 77);
    let busy: Vec<f32> = (0..len)
        .map(|t| tones[t] + clicks[t] + 0.05 * hiss[t])
        .collect();
    // Left: a sine, whose smoothness shows any click; right: music-like, to separate.
    let input = [sine, busy];
    let block = MAX_BLOCK as usize;
    let change_block = (CHANGE_AT * SR) as usize / block;
    let heard = ((CHANGE_AT + HEARD_WITHIN) * SR) as usize;
    // A few instances at a time: each runs in real time, and a 2-core machine must keep up
    // with them and with the other tests beside this one.
    for (path, cases) in plugin_paths()
        .iter()
        .flat_map(|path| cases.chunks(3).map(move |chunk| (path, chunk)))
    {
        std::thread::scope(|scope| {
            for &(what, before, change) in cases {
                let input = &input;
                scope.spawn(move || {
                    let (_entry, mut reference) = load(path);
                    reference.blocks = vec![block];
                    let mut settled: Vec<(ClapId, f64)> =
                        before.iter().map(|(n, v)| (reference.param(n), *v)).collect();
                    settled.push((reference.param(change.0), change.1));
                    let _ = reference.render(&[vec![0.0; 256], vec![0.0; 256]], &settled);
                    let expected = reference.render(input, &[]);
                    let expected_latency = reference.latency();

                    let (_entry, mut host) = load(path);
                    host.blocks = vec![block];
                    let start: Vec<(ClapId, f64)> =
                        before.iter().map(|(n, v)| (host.param(n), *v)).collect();
                    let _ = host.render(&[vec![0.0; 256], vec![0.0; 256]], &start);
                    let changed = (host.param(change.0), change.1);
                    let began = std::time::Instant::now();
                    let got = host.render_hooked(
                        input,
                        &mut |k| {
                            if k == change_block {
                                vec![changed]
                            } else {
                                Vec::new()
                            }
                        },
                        &mut |k, _| {
                            // Real time: block k is due k blocks after the start.
                            let due = std::time::Duration::from_secs_f64(
                                (k * block) as f64 / SR,
                            );
                            if let Some(wait) = due.checked_sub(began.elapsed()) {
                                std::thread::sleep(wait);
                            }
                        },
                    );
                    let restarted = host
                        .instance
                        .access_shared_handler(|h| h.restart.load(Ordering::SeqCst));
                    eprintln!(
                        "{}: {what}: latency {} (host asked to restart: {restarted})",
                        path.display(),
                        host.latency()
                    );
                    for port in 1..4 {
                        for c in 0..2 {
                            let (a, b) = (&got[port][c][heard..], &expected[port][c][heard..]);
                            let same = a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
                            assert!(
                                same,
                                "{}: {what}: port {port} channel {c} does not follow within {HEARD_WITHIN} s (max diff {})",
                                path.display(),
                                max_diff(a, b)
                            );
                        }
                    }
                    assert_eq!(host.latency(), expected_latency, "{what}: latency not reported");
                    assert_eq!(
                        host.aux_output_names(),
                        reference.aux_output_names(),
                        "{what}: the ports are not renamed for the new algorithm"
                    );
                    let around = (CHANGE_AT * SR) as usize..heard;
                    let r = roughness(&got[0][0][around]);
                    assert!(r < 0.05, "{}: {what}: the switch clicks ({r})", path.display());
                });
            }
        });
    }
}
