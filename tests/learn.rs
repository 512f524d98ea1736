//! NMF's Learn through a CLAP host: switched on and off as automation, learned on the
//! background thread, kept in the state.

mod common;

use std::path::PathBuf;

use clack_host::prelude::*;

use common::clap::*;

/// Whether a saved state carries taught NMF templates.
fn has_templates(state: &[u8]) -> bool {
    let text = String::from_utf8_lossy(state);
    text.contains("nmf-templates") && !text.contains("\"nmf-templates\":\"null\"")
}

/// A sustained low chord (the background) and a lead of higher notes changing every
/// quarter second (the foreground), `seconds` long each, at 44.1 kHz.
fn chord_and_lead(len: usize) -> (Vec<f32>, Vec<f32>) {
    let tone = |t: f32, f0: f32, partials: usize| -> f32 {
        (1..=partials)
            .map(|k| (std::f32::consts::TAU * f0 * k as f32 * t).sin() / k as f32)
            .sum()
    };
    let chord = (0..len)
        .map(|i| {
            let t = i as f32 / SR as f32;
            0.15 * (tone(t, 110.0, 8) + tone(t, 164.8, 6)) * (1.0 + 0.3 * (1.7 * t).sin())
        })
        .collect();
    let notes = [587.3, 740.0, 659.3, 880.0, 523.3];
    let lead = (0..len)
        .map(|i| {
            let t = i as f32 / SR as f32;
            0.12 * tone(t, notes[(t * 4.0) as usize % notes.len()], 4)
        })
        .collect();
    (chord, lead)
}

/// A hosted instance set to NMF (rendered briefly, so the next activation builds NMF).
fn nmf_host(path: &PathBuf) -> (PluginEntry, Hosted) {
    let (entry, mut host) = load(path);
    host.blocks = vec![512];
    let algorithm = host.param("Algorithm");
    let _ = host.render(&[vec![0.0; 512], vec![0.0; 512]], &[(algorithm, 4.0)]);
    (entry, host)
}

#[test]
fn nmf_learns_when_learn_is_switched_and_keeps_its_templates_in_the_state() {
    on_host_thread(|| {
        let teach = 3 * SR as usize;
        let play = 4 * SR as usize;
        let (chord, lead) = chord_and_lead(teach + play);
        // The background alone while Learn is on, then background and lead.
        let signal: Vec<f32> = (0..teach + play)
            .map(|i| chord[i] + if i >= teach { lead[i] } else { 0.0 })
            .collect();
        let input = [signal.clone(), signal.clone()];
        let mix = [signal[teach..].to_vec(), signal[teach..].to_vec()];
        for path in plugin_paths() {
            let (_entry, mut host) = nmf_host(&path);
            let learn = host.param("Learn");
            let learn_off = teach / 512;
            let mut learned_state = None;
            let taught = host.render_hooked(
                &input,
                &mut |k| match k {
                    0 => vec![(learn, 1.0)],
                    k if k == learn_off => vec![(learn, 0.0)],
                    _ => Vec::new(),
                },
                &mut |k, instance| {
                    // After Learn goes off, wait (as a host's main thread would go on
                    // with its life) until the background thread has learned.
                    if k == learn_off + 1 {
                        for _ in 0..3000 {
                            let state = state_of(instance);
                            if has_templates(&state) {
                                learned_state = Some(state);
                                break;
                            }
                            std::thread::sleep(std::time::Duration::from_millis(10));
                        }
                    }
                },
            );
            let state = learned_state.expect("templates were learned within 30 s");
            let latency = host.latency() as usize;
            // Before learning, NMF leaves everything in the background.
            let before = &taught[1][0][..teach];
            assert!(
                taught[1][0][..teach].iter().all(|&x| x == 0.0),
                "{before:?}"
            );
            // Once taught (from the block after the templates arrived), the lead goes
            // to the foreground port.
            let from = teach + latency + 4096;
            let sdr_fg = unweave::metrics::sdr(
                &lead[from - latency..teach + play - latency],
                &taught[1][0][from..],
            );
            let sdr_mix = unweave::metrics::sdr(
                &lead[from - latency..teach + play - latency],
                &signal[from - latency..teach + play - latency],
            );
            eprintln!(
                "{}: lead SDR of the foreground port {sdr_fg:.2} dB, of the mix {sdr_mix:.2} dB",
                path.display()
            );
            assert!(
                sdr_fg > sdr_mix + 6.0,
                "{}: foreground SDR {sdr_fg:.2} dB, the mix {sdr_mix:.2} dB",
                path.display()
            );

            // The templates are saved with the state: a fresh instance loading it
            // separates exactly as the taught one does.
            let expected = host.render(&mix, &[]);
            let (_entry, mut restored) = load(&path);
            restored.blocks = vec![512];
            restored.load_state(&state);
            assert!(
                restored.render(&mix, &[]) == expected,
                "{}: the restored templates separate differently",
                path.display()
            );
            // And loaded while audio runs, they reach the running engine.
            // NMF's settings are automated every block meanwhile, under the allocation checker.
            let (_entry, mut live) = nmf_host(&path);
            let automated =
                ["Templates", "Free templates", "Iterations", "Taught stem"].map(|n| live.param(n));
            let specs = parameter_specs(&live);
            let mut seed = XorShift::new(0xFEED_5EED);
            let mut automation = |_| {
                random_events(&specs, &mut seed)
                    .into_iter()
                    .filter(|(id, _)| automated.contains(id))
                    .collect()
            };
            let got = live.render_hooked(&mix, &mut automation, &mut |k, instance| {
                if k == 20 {
                    load_state_into(instance, &state);
                }
            });
            let quiet = got[1][0][..20 * 512].iter().all(|&x| x == 0.0);
            let energy: f32 = got[1][0][22 * 512..].iter().map(|x| x * x).sum();
            assert!(
                quiet && energy > 1.0,
                "{}: live-loaded templates did not arrive (energy {energy})",
                path.display()
            );
        }
    });
}
