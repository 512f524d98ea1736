//! Loads the built plugin through a real CLAP host library, as a DAW would.
//!
//! Two builds are hosted: the release bundle that `cargo xtask bundle` made
//! (`$UNWEAVE_CLAP_BUNDLE`, set by `cargo xtask test`), and the library this test
//! run built, which has debug assertions and, with the `assert_process_allocs`
//! feature, aborts on any allocation in `process`.

mod common;

use std::ffi::CStr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use clack_extensions::audio_ports::{AudioPortInfoBuffer, PluginAudioPorts};
use clack_extensions::latency::PluginLatency;
use clack_extensions::params::{ParamInfoBuffer, ParamInfoFlags, PluginParams};
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;
use clack_host::utils::ClapId;

use common::noise;

struct HostShared {
    restart: AtomicBool,
}

impl SharedHandler<'_> for HostShared {
    fn request_restart(&self) {
        self.restart.store(true, Ordering::SeqCst);
    }
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

struct TestHost;
impl HostHandlers for TestHost {
    type Shared<'a> = HostShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();
}

/// The plugin builds to host: the release bundle if given, and this run's own library.
fn plugin_paths() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    match std::env::var_os("UNWEAVE_CLAP_BUNDLE").map(PathBuf::from) {
        Some(p) if p.is_file() => paths.push(p),
        Some(p) => panic!("UNWEAVE_CLAP_BUNDLE={} does not exist", p.display()),
        None => eprintln!(
            "UNWEAVE_CLAP_BUNDLE not set: hosting only this test run's library (run `cargo xtask test`)"
        ),
    }
    paths.push(common::built_library());
    paths
}

const ID: &CStr = c"org.unweave.unweave";
const SR: f64 = 44_100.0;
const MAX_BLOCK: u32 = 512;

/// Runs `f` on a thread of its own and waits for it. Every call into the plugin happens
/// there: a Rust cdylib registers thread-local destructors in each thread that runs its
/// code, and the test harness's worker threads may still be exiting (running them) while
/// the process finalises the library, which crashes (rust-lang/rust#88737). A joined
/// thread runs its destructors while the library is certainly loaded.
fn on_host_thread(f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        if let Err(panic) = s.spawn(f).join() {
            std::panic::resume_unwind(panic);
        }
    });
}

/// One loaded entry per library for the whole test process, as a DAW keeps it.
fn entry(path: &PathBuf) -> PluginEntry {
    static ENTRIES: std::sync::Mutex<Vec<(PathBuf, PluginEntry)>> =
        std::sync::Mutex::new(Vec::new());
    let mut entries = ENTRIES.lock().unwrap();
    if let Some((_, e)) = entries.iter().find(|(p, _)| p == path) {
        return e.clone();
    }
    // SAFETY: we load our own plugin, built by this workspace.
    let e =
        unsafe { PluginEntry::load(path) }.unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    entries.push((path.clone(), e.clone()));
    e
}

struct Hosted {
    instance: PluginInstance<TestHost>,
    /// How `render` activates and slices: sample rate, largest block, block sizes in turn.
    sample_rate: f64,
    max_block: u32,
    blocks: Vec<usize>,
    params: Vec<(String, ClapId, ParamInfoFlags, f64)>,
    /// `(min, max)` of each of `params`, in the values the host sends.
    ranges: Vec<(f64, f64)>,
    output_ports: Vec<(String, u32)>,
}

fn load(path: &PathBuf) -> (PluginEntry, Hosted) {
    let entry = entry(path);
    let info = HostInfo::new("Unweave tests", "Unweave", "https://example.invalid", "1.0").unwrap();
    let mut instance = PluginInstance::<TestHost>::new(
        |_| HostShared {
            restart: AtomicBool::new(false),
        },
        |_| (),
        &entry,
        ID,
        &info,
    )
    .expect("the plugin instantiates");
    let handle = instance.plugin_handle();
    let params_ext = handle
        .get_extension::<PluginParams>()
        .expect("params extension");
    let mut params = Vec::new();
    let mut ranges = Vec::new();
    let mut buf = ParamInfoBuffer::new();
    for i in 0..params_ext.count(&handle) {
        let p = params_ext.get_info(&handle, i, &mut buf).unwrap();
        ranges.push((p.min_value, p.max_value));
        params.push((
            String::from_utf8_lossy(p.name).into_owned(),
            p.id,
            p.flags,
            p.default_value,
        ));
    }
    let ports_ext = handle
        .get_extension::<PluginAudioPorts>()
        .expect("audio-ports extension");
    let mut output_ports = Vec::new();
    let mut pbuf = AudioPortInfoBuffer::new();
    for i in 0..ports_ext.count(&handle, false) {
        let p = ports_ext.get(&handle, i, false, &mut pbuf).unwrap();
        output_ports.push((
            String::from_utf8_lossy(p.name).into_owned(),
            p.channel_count,
        ));
    }
    (
        entry,
        Hosted {
            instance,
            params,
            ranges,
            output_ports,
            sample_rate: SR,
            max_block: MAX_BLOCK,
            blocks: vec![1, 64, 333, 512, 17, 500, 128],
        },
    )
}

impl Hosted {
    fn param(&self, name: &str) -> ClapId {
        self.params
            .iter()
            .find(|p| p.0 == name)
            .unwrap_or_else(|| panic!("no parameter '{name}'"))
            .1
    }

    fn latency(&mut self) -> u32 {
        let handle = self.instance.plugin_handle();
        let ext = handle
            .get_extension::<PluginLatency>()
            .expect("latency extension");
        ext.get(&handle)
    }

    /// Activates, sends `events` (normalised values) with the first block, renders
    /// `input` (stereo) in blocks of varying size, returns the four output ports.
    fn render(&mut self, input: &[Vec<f32>; 2], events: &[(ClapId, f64)]) -> Vec<[Vec<f32>; 2]> {
        self.render_with(input, &mut |block| {
            if block == 0 {
                events.to_vec()
            } else {
                Vec::new()
            }
        })
    }

    /// As [`Hosted::render`], with `events(block index)` sent at the start of every block.
    fn render_with(
        &mut self,
        input: &[Vec<f32>; 2],
        events: &mut dyn FnMut(usize) -> Vec<(ClapId, f64)>,
    ) -> Vec<[Vec<f32>; 2]> {
        self.render_hooked(input, events, &mut |_, _| {})
    }

    /// As [`Hosted::render_with`], calling `main_thread(block index, instance)`
    /// before every block, as a host's main thread acts while audio runs.
    fn render_hooked(
        &mut self,
        input: &[Vec<f32>; 2],
        events: &mut dyn FnMut(usize) -> Vec<(ClapId, f64)>,
        main_thread: &mut dyn FnMut(usize, &mut PluginInstance<TestHost>),
    ) -> Vec<[Vec<f32>; 2]> {
        let config = PluginAudioConfiguration {
            sample_rate: self.sample_rate,
            min_frames_count: 1,
            max_frames_count: self.max_block,
        };
        let processor = self
            .instance
            .activate(|_, _| (), config)
            .expect("activates");
        let mut processor = processor.start_processing().expect("starts");
        let len = input[0].len();
        let mut outputs: Vec<[Vec<f32>; 2]> = (0..4)
            .map(|_| [Vec::with_capacity(len), Vec::with_capacity(len)])
            .collect();
        let mut in_ports = AudioPorts::with_capacity(2, 1);
        let mut out_ports = AudioPorts::with_capacity(8, 4);
        let mut pos = 0;
        let mut k = 0;
        while pos < len {
            main_thread(k, &mut self.instance);
            let n = self.blocks[k % self.blocks.len()].min(len - pos);
            let mut inb: Vec<Vec<f32>> = input.iter().map(|c| c[pos..pos + n].to_vec()).collect();
            let mut outb: Vec<Vec<f32>> = vec![vec![0.0; n]; 8];
            let event_list: Vec<ParamValueEvent> = events(k)
                .iter()
                .map(|(id, v)| ParamValueEvent::new(0, *id, Pckn::match_all(), *v))
                .collect();
            let input_events = InputEvents::from_buffer(&event_list);
            let mut out_events_buf = EventBuffer::new();
            let mut output_events = OutputEvents::from_buffer(&mut out_events_buf);
            let input_audio = in_ports.with_input_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_input_only(
                    inb.iter_mut().map(InputChannel::variable),
                ),
            }]);
            let mut chunks = outb.chunks_mut(2);
            let mut output_audio = out_ports.with_output_buffers((0..4).map(|_| AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_output_only(
                    chunks.next().unwrap().iter_mut().map(|b| b.as_mut_slice()),
                ),
            }));
            k += 1;
            processor
                .process(
                    &input_audio,
                    &mut output_audio,
                    &input_events,
                    &mut output_events,
                    None,
                    None,
                )
                .expect("processes");
            for (port, out) in outputs.iter_mut().enumerate() {
                for c in 0..2 {
                    out[c].extend_from_slice(&outb[port * 2 + c]);
                }
            }
            pos += n;
        }
        let stopped = processor.stop_processing();
        self.instance.deactivate(stopped);
        outputs
    }
}

/// `signal` delayed by `latency` samples, as long as it was.
fn delayed_by(signal: &[f32], latency: usize) -> Vec<f32> {
    (0..signal.len())
        .map(|t| {
            if t >= latency {
                signal[t - latency]
            } else {
                0.0
            }
        })
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn hosted_plugin_reports_ports_params_latency_and_nulls() {
    on_host_thread(|| {
        for path in plugin_paths() {
            let (_entry, mut host) = load(&path);
            let names: Vec<&str> = host.output_ports.iter().map(|p| p.0.as_str()).collect();
            // "Mix" once nice-plug names the main output from `main_output` (see plugin/mod.rs).
            assert!(
                matches!(names[0], "Output" | "Mix"),
                "main output named {:?}",
                names[0]
            );
            assert_eq!(
                &names[1..],
                ["Foreground", "Background", "Residual"],
                "{}",
                path.display()
            );
            assert!(host.output_ports.iter().all(|p| p.1 == 2));
            for name in [
                "Algorithm",
                "Balance",
                "Foreground level",
                "Background level",
                "Residual level",
                "FFT size",
                "Harmonic width",
                "Percussive width",
                "Mask power",
                "Separation factor",
                "Low latency",
                "Bypass",
            ] {
                host.param(name);
            }
            let bypass = host.params.iter().find(|p| p.0 == "Bypass").unwrap();
            assert!(
                bypass.2.contains(ParamInfoFlags::IS_BYPASS),
                "Bypass is the host's bypass parameter"
            );

            let len = 60_000;
            let input = [noise(len, 21), noise(len, 22)];
            let out = host.render(&input, &[]);
            // Defaults: 2048-sample window + 15 hops of 512 lookahead (360 ms harmonic median).
            let latency = host.latency() as usize;
            assert_eq!(latency, 2048 + 15 * 512, "{}", path.display());
            for c in 0..2 {
                let delayed = delayed_by(&input[c], latency);
                assert!(
                    max_diff(&out[0][c], &delayed) < 1e-5,
                    "{}: main output is not the delayed input at defaults",
                    path.display()
                );
                let sum: Vec<f32> = (0..len)
                    .map(|t| out[1][c][t] + out[2][c][t] + out[3][c][t])
                    .collect();
                assert!(
                    max_diff(&sum, &delayed) < 1e-5,
                    "{}: the stem ports do not sum to the input",
                    path.display()
                );
                let fg: f32 = out[1][c].iter().map(|x| x * x).sum();
                assert!(fg > 1.0, "the foreground port carries audio");
            }

            // Balance ±100 % leaves one stem on the main output (after the 20 ms smoothing).
            let balance = host.param("Balance");
            for (value, port) in [(1.0, 1), (0.0, 2)] {
                let out = host.render(&input, &[(balance, value)]);
                let settle = 4096;
                for c in 0..2 {
                    let d = max_diff(&out[0][c][settle..], &out[port][c][settle..]);
                    assert!(
                        d < 1e-5,
                        "{}: balance {value} leaves main ≠ port {port} ({d})",
                        path.display()
                    );
                }
            }

            // Bypass: the dry path is delayed by the latency, so the output is the same delayed input.
            let out = host.render(&input, &[(host.param("Bypass"), 1.0), (balance, 1.0)]);
            let delayed = delayed_by(&input[0], latency);
            assert!(
                max_diff(&out[0][0][4096..], &delayed[4096..]) < 1e-5,
                "{}: bypass shifts or colours the audio",
                path.display()
            );

            // A latency-changing setting applies while audio runs (see
            // `settings_that_need_a_new_engine_are_heard_without_reactivation`), and on
            // the next activation at the latest.
            let low = host.param("Low latency");
            let _ = host.render(
                &[input[0][..4096].to_vec(), input[1][..4096].to_vec()],
                &[(low, 1.0)],
            );
            let _ = host.render(&[input[0][..1024].to_vec(), input[1][..1024].to_vec()], &[]);
            assert_eq!(
                host.latency(),
                2048,
                "{}: low latency is the window alone",
                path.display()
            );
        }
    });
}

/// Writes `input` as a 32-bit float WAV.
fn write_wav(path: &std::path::Path, input: &[Vec<f32>; 2]) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: SR as u32,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for t in 0..input[0].len() {
        w.write_sample(input[0][t]).unwrap();
        w.write_sample(input[1][t]).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn plugin_stems_are_bit_identical_to_the_command_lines() {
    on_host_thread(|| {
        let len = 50_000;
        let (h, p) = common::tones_and_clicks(len, SR as f32, 9_000);
        let n = noise(len, 31);
        let input = [
            h.iter()
                .zip(&p)
                .zip(&n)
                .map(|((a, b), c)| a + b + 0.05 * c)
                .collect::<Vec<f32>>(),
            h.iter()
                .zip(&p)
                .map(|(a, b)| 0.7 * a + b)
                .collect::<Vec<f32>>(),
        ];
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("clip.wav");
        write_wav(&wav, &input);
        // FFT 1024 (index 1 of 5), mask power 5.25 (linear 0.5 … 10 at 0.5),
        // separation 3.25 (1 + 9·0.5², the skewed range at 0.5): a residual stem.
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_unweave"))
            .args([
                "separate",
                "-q",
                "--bit-depth",
                "32",
                "--set",
                "fft_size=1024",
                "--set",
                "mask_power=5.25",
                "--set",
                "separation=3.25",
                "-o",
            ])
            .arg(dir.path())
            .arg(&wav)
            .status()
            .unwrap();
        assert!(status.success());
        let names = ["percussive", "harmonic", "residual"];
        let cli: Vec<Vec<Vec<f32>>> = names
            .iter()
            .map(|s| common::read_wav(&dir.path().join(format!("clip.{s}.wav"))).0)
            .collect();

        for path in plugin_paths() {
            let (_entry, mut host) = load(&path);
            let events = [
                (host.param("FFT size"), 1.0),
                (host.param("Mask power"), 0.5),
                (host.param("Separation factor"), 0.5),
            ];
            // Enums go to CLAP as step indices (1 = 1024), floats normalised.
            // The FFT size needs a re-activation: set, then render again.
            let _ = host.render(
                &[input[0][..600].to_vec(), input[1][..600].to_vec()],
                &events,
            );
            let tail = 20_000;
            let padded = [0, 1].map(|c| {
                let mut v = input[c].clone();
                v.resize(len + tail, 0.0);
                v
            });
            let out = host.render(&padded, &[]);
            // FFT 1024 (hop 256): the 360 ms median is 63 frames, 31 of them ahead.
            let latency = host.latency() as usize;
            assert_eq!(latency, 1024 + 31 * 256);
            for (k, stem) in cli.iter().enumerate() {
                for c in 0..2 {
                    let plugin = &out[k + 1][c][latency..latency + len];
                    assert!(
                        plugin.len() == stem[c].len()
                            && plugin
                                .iter()
                                .zip(&stem[c])
                                .all(|(a, b)| a.to_bits() == b.to_bits()),
                        "{}: stem {} channel {c} differs from `unweave separate`",
                        path.display(),
                        names[k]
                    );
                }
            }
        }
    });
}

/// Every output sample finite and below +36 dBFS.
fn assert_bounded(out: &[[Vec<f32>; 2]], path: &std::path::Path) {
    for port in out {
        for c in port {
            assert!(
                c.iter().all(|x| x.is_finite() && x.abs() < 64.0),
                "{}: output out of bounds",
                path.display()
            );
        }
    }
}

#[test]
fn every_setting_runs_under_the_allocation_checker_with_automation_every_block() {
    on_host_thread(|| {
        let len = 30_000;
        let input = [noise(len, 41), noise(len, 42)];
        let automated = [
            "Balance",
            "Foreground level",
            "Background level",
            "Residual level",
            "Harmonic width",
            "Percussive width",
            "Mask power",
            "Separation factor",
        ];
        for path in plugin_paths() {
            let (_entry, mut host) = load(&path);
            let ids: Vec<ClapId> = automated.iter().map(|n| host.param(n)).collect();
            for fft in 0..5 {
                for low_latency in [0.0, 1.0] {
                    for separation in [0.0, 0.6] {
                        let structural = [
                            (host.param("FFT size"), fft as f64),
                            (host.param("Low latency"), low_latency),
                            (host.param("Separation factor"), separation),
                        ];
                        let _ = host.render(
                            &[input[0][..300].to_vec(), input[1][..300].to_vec()],
                            &structural,
                        );
                        let mut rng =
                            0x2545_F491_4F6C_DD1Du64 ^ (fft as u64 * 7 + low_latency as u64);
                        let out = host.render_with(&input, &mut |_| {
                            ids.iter().map(|id| (*id, uniform(&mut rng))).collect()
                        });
                        assert_bounded(&out, &path);
                    }
                }
            }
        }
    });
}

#[test]
fn repet_repet_sim_and_2dft_run_under_the_allocation_checker_with_automation_every_block() {
    on_host_thread(|| {
        // Long enough for 2DFT's shortest patch (2 s, 1.25 s of latency) to mask frames.
        let len = 90_000;
        let input = [noise(len, 61), noise(len, 62)];
        // Floats get normalised values, enums and integers their plain values.
        let floats = [
            "Balance",
            "High-pass",
            "Min period",
            "Max period",
            "Manual period",
            "Min spacing",
            "Similarity threshold",
            "Peak threshold",
            "2DFT high-pass",
        ];
        let steps = [
            ("Period source", 2),
            ("Period bars", 2),
            ("Neighbours", 100),
        ];
        for path in plugin_paths() {
            let (_entry, mut host) = load(&path);
            let float_ids: Vec<ClapId> = floats.iter().map(|n| host.param(n)).collect();
            let step_ids: Vec<(ClapId, u64)> =
                steps.iter().map(|(n, max)| (host.param(n), *max)).collect();
            for algorithm in [1.0, 2.0, 3.0] {
                for fft in [0.0, 2.0, 4.0] {
                    for lookahead in [0.0, 0.05] {
                        let structural = [
                            (host.param("Algorithm"), algorithm),
                            (host.param("FFT size"), fft),
                            (host.param("Lookahead"), lookahead),
                            (host.param("Buffer length"), 0.1),
                            (host.param("Patch length"), 0.0),
                        ];
                        let _ = host.render(
                            &[input[0][..300].to_vec(), input[1][..300].to_vec()],
                            &structural,
                        );
                        let mut rng =
                            0x9E37_79B9_7F4A_7C15u64 ^ (algorithm as u64 * 31 + fft as u64);
                        let mut next = move || xorshift(&mut rng);
                        let out = host.render_with(&input, &mut |_| {
                            let mut events: Vec<(ClapId, f64)> = float_ids
                                .iter()
                                .map(|id| (*id, (next() >> 11) as f64 / (1u64 << 53) as f64))
                                .collect();
                            for (id, max) in &step_ids {
                                let v = next() % (max + 1);
                                events.push((
                                    *id,
                                    if *max == 100 {
                                        v.max(1) as f64
                                    } else {
                                        v as f64
                                    },
                                ));
                            }
                            events
                        });
                        assert_bounded(&out, &path);
                    }
                }
            }
        }
    });
}

#[test]
fn two_instances_processing_at_once_do_not_interfere() {
    on_host_thread(|| {
        for path in plugin_paths() {
            let len = 40_000;
            let input = [noise(len, 51), noise(len, 52)];
            let settings_of = |host: &Hosted| {
                vec![
                    (host.param("Balance"), 0.9),
                    (host.param("Mask power"), 0.3),
                ]
            };
            // Each alone first.
            let alone: Vec<Vec<[Vec<f32>; 2]>> = (0..2)
                .map(|k| {
                    let (_entry, mut host) = load(&path);
                    let events = if k == 0 {
                        Vec::new()
                    } else {
                        settings_of(&host)
                    };
                    host.render(&input, &events)
                })
                .collect();
            // Then both at the same time, each on its own thread.
            let together: Vec<Vec<[Vec<f32>; 2]>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..2)
                    .map(|k| {
                        let (path, input) = (&path, &input);
                        s.spawn(move || {
                            let (_entry, mut host) = load(path);
                            let events = if k == 0 {
                                Vec::new()
                            } else {
                                settings_of(&host)
                            };
                            host.render(input, &events)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for k in 0..2 {
                assert!(
                    alone[k] == together[k],
                    "{}: instance {k} changed when another ran beside it",
                    path.display()
                );
            }
            assert!(
                alone[0] != alone[1],
                "the two instances' settings differ in output"
            );
        }
    });
}

#[test]
fn any_sample_rate_and_block_size_changing_every_call() {
    on_host_thread(|| {
        for path in plugin_paths() {
            let (_entry, mut host) = load(&path);
            host.max_block = 8192;
            // Every size from 1 to 8192, changing every call.
            host.blocks = vec![1, 8192, 7, 4096, 2, 1000, 8191, 3, 256, 5000, 64, 1];
            for rate in [22_050.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0] {
                host.sample_rate = rate;
                let len = (rate * 0.75) as usize;
                let input = [noise(len, 61), noise(len, 62)];
                let out = host.render(&input, &[]);
                let latency = host.latency() as usize;
                // Widths are in ms and Hz: the latency follows the rate (window + lookahead).
                assert!(
                    latency >= 2048 && (latency as f64) < 0.5 * rate,
                    "{rate} Hz: latency {latency}"
                );
                for c in 0..2 {
                    let stems: Vec<f32> = (0..len)
                        .map(|t| out[1][c][t] + out[2][c][t] + out[3][c][t])
                        .collect();
                    let delayed = delayed_by(&input[c], latency);
                    assert!(
                        max_diff(&stems, &delayed) < 1e-5,
                        "{}: {rate} Hz: stems do not sum to the input",
                        path.display()
                    );
                    assert!(
                        out.iter()
                            .all(|p| p[c].iter().all(|x| x.is_finite() && x.abs() < 4.0))
                    );
                }
            }
        }
    });
}

/// Settings changed from every default, as a user would leave them.
fn non_default_events(host: &Hosted) -> Vec<(ClapId, f64)> {
    vec![
        (host.param("Balance"), 0.8),
        (host.param("FFT size"), 1.0),
        (host.param("Harmonic width"), 0.4),
        (host.param("Percussive width"), 0.6),
        (host.param("Mask power"), 0.3),
        (host.param("Separation factor"), 0.5),
        // −6.6 dB: what 0.7 meant when the levels were gains (the 0.1.0 fixture holds
        // that gain), as the host's normalised value (in f32, as the plugin reads it).
        (host.param("Foreground level"), f64::from((-6.6f32 + 60.0) / 72.0)),
    ]
}

impl Hosted {
    fn save_state(&mut self) -> Vec<u8> {
        state_of(&mut self.instance)
    }

    fn load_state(&mut self, bytes: &[u8]) {
        load_state_into(&mut self.instance, bytes);
    }
}

#[test]
fn state_saved_and_restored_gives_the_same_sound() {
    on_host_thread(|| {
        let fixture =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state-0.1.0.bin");
        for path in plugin_paths() {
            let len = 30_000;
            let input = [noise(len, 71), noise(len, 72)];
            let (_entry, mut original) = load(&path);
            let events = non_default_events(&original);
            let _ = original.render(
                &[input[0][..512].to_vec(), input[1][..512].to_vec()],
                &events,
            );
            let state = original.save_state();
            let expected = original.render(&input, &[]);
            let latency = original.latency();

            let (_entry, mut restored) = load(&path);
            restored.load_state(&state);
            assert!(
                restored.render(&input, &[]) == expected,
                "{}: restored state sounds different",
                path.display()
            );
            assert_eq!(restored.latency(), latency);

            // State written by version 0.1.0 (these settings, saved once and committed)
            // must keep loading, to the same sound.
            let old_state =
                std::fs::read(&fixture).expect("tests/fixtures/state-0.1.0.bin is committed");
            let (_entry, mut old) = load(&path);
            old.load_state(&old_state);
            assert!(
                old.render(&input, &[]) == expected,
                "{}: the 0.1.0 state fixture no longer restores",
                path.display()
            );
        }
    });
}

/// A xorshift generator's next value in `[0, 1)`.
fn uniform(state: &mut u64) -> f64 {
    (xorshift(state) >> 11) as f64 / (1u64 << 53) as f64
}

/// The next value of a xorshift64 generator.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Every parameter's id, whether it is stepped, and its range in host values.
fn parameter_specs(host: &Hosted) -> Vec<(ClapId, bool, f64, f64)> {
    host.params
        .iter()
        .zip(&host.ranges)
        .map(|((_, id, flags, _), (min, max))| {
            (*id, flags.contains(ParamInfoFlags::IS_STEPPED), *min, *max)
        })
        .collect()
}

/// Random values for the given parameters at once, in range, whole for stepped ones.
fn random_events(specs: &[(ClapId, bool, f64, f64)], state: &mut u64) -> Vec<(ClapId, f64)> {
    specs
        .iter()
        .map(|&(id, stepped, min, max)| {
            let v = min + uniform(state) * (max - min);
            (id, if stepped { v.round() } else { v })
        })
        .collect()
}

#[test]
fn every_parameter_automated_at_once_every_block_stays_bounded() {
    on_host_thread(|| {
        let len = 30_000;
        let input = [noise(len, 81), noise(len, 82)];
        for path in plugin_paths() {
            let (_entry, mut host) = load(&path);
            host.blocks = vec![64, 1, 300, 512, 7, 128];
            let specs = parameter_specs(&host);
            let mut state = 0x1234_5678_9ABC_DEF1u64;
            // Each render activates afresh, so the structural values the last one
            // left (algorithm, FFT size, buffer, lookahead) build the next engine.
            for _ in 0..6 {
                let out = host.render_with(&input, &mut |_| random_events(&specs, &mut state));
                assert_bounded(&out, &path);
            }
        }
    });
}

/// Largest second difference of a signal: a click shows as a jump in slope.
fn roughness(x: &[f32]) -> f32 {
    x.windows(3)
        .map(|w| (w[2] - 2.0 * w[1] + w[0]).abs())
        .fold(0.0, f32::max)
}

/// Balance, the stem levels and Bypass jump to random values every 64 samples; their
/// smoothing (20 ms, 30 ms, 10 ms) must turn each jump into a ramp. On a 220 Hz sine
/// at half scale, whose own second difference is about 0.001, an unsmoothed jump of a
/// gain would step the output by up to the signal's size.
#[test]
fn automating_balance_levels_and_bypass_every_block_never_clicks() {
    on_host_thread(|| {
        let len = 2 * 44_100;
        let sine: Vec<f32> = (0..len)
            .map(|t| 0.5 * (std::f32::consts::TAU * 220.0 * t as f32 / 44_100.0).sin())
            .collect();
        let input = [sine.clone(), sine];
        for path in plugin_paths() {
            let (_entry, mut host) = load(&path);
            host.blocks = vec![64];
            let names = ["Balance", "Foreground level", "Background level", "Bypass"];
            let specs: Vec<_> = parameter_specs(&host)
                .into_iter()
                .filter(|s| names.iter().any(|n| host.param(n) == s.0))
                .collect();
            assert_eq!(specs.len(), names.len());
            let still = host.render(&input, &[]);
            let mut state = 0x0DDB_1A5E_5BAD_5EEDu64;
            let moving = host.render_with(&input, &mut |_| random_events(&specs, &mut state));
            let settled = host.latency() as usize + 4096;
            for c in 0..2 {
                let calm = roughness(&still[0][c][settled..]);
                let automated = roughness(&moving[0][c][settled..]);
                eprintln!(
                    "{}: roughness {calm:.5} still, {automated:.5} automated",
                    path.display()
                );
                assert!(
                    automated < 0.05,
                    "{}: automation clicks: second difference {automated} (still: {calm})",
                    path.display()
                );
            }
        }
    });
}

/// A preset loaded while audio runs (state `load` on the main thread mid-stream)
/// takes over as if it had been set from the start: once the new settings have
/// reached every sample of the output (latency, one window, the smoothers), the
/// output is bit-identical to a run that always had them.
#[test]
fn state_loaded_mid_stream_sounds_as_if_it_had_always_been_set() {
    on_host_thread(|| {
        for path in plugin_paths() {
            let len = 80_000;
            let input = [noise(len, 91), noise(len, 92)];
            // Settings that apply live, without re-activation.
            let live = |host: &Hosted| {
                vec![
                    (host.param("Balance"), 0.8),
                    (host.param("Percussive width"), 0.6),
                    (host.param("Mask power"), 0.3),
                    (host.param("Foreground level"), 0.7),
                ]
            };
            let (_entry, mut preset) = load(&path);
            let events = live(&preset);
            let _ = preset.render(
                &[input[0][..512].to_vec(), input[1][..512].to_vec()],
                &events,
            );
            let state = preset.save_state();

            let (_entry, mut always) = load(&path);
            let events = live(&always);
            let expected = always.render(&input, &events);

            let (_entry, mut switched) = load(&path);
            let switch_block = 40;
            let got = switched.render_hooked(&input, &mut |_| Vec::new(), &mut |k, instance| {
                if k == switch_block {
                    load_state_into(instance, &state);
                }
            });
            let switched_at: usize = (0..switch_block)
                .map(|k| switched.blocks[k % switched.blocks.len()])
                .sum();
            let settle = switched_at + switched.latency() as usize + 2 * 2048 + 44_100 / 20;
            assert!(settle < len / 2);
            for port in 0..4 {
                for c in 0..2 {
                    assert!(
                        got[port][c][settle..] == expected[port][c][settle..],
                        "{}: port {port} differs after the preset loaded mid-stream",
                        path.display()
                    );
                }
            }
            assert!(
                got[0][0][..switched_at] != expected[0][0][..switched_at],
                "before the preset loads, the sound is the default one"
            );
        }
    });
}

/// Loads a state through `instance` (as a host's main thread does while audio runs).
fn load_state_into(instance: &mut PluginInstance<TestHost>, bytes: &[u8]) {
    let handle = instance.plugin_handle();
    let ext = handle
        .get_extension::<clack_extensions::state::PluginState>()
        .expect("state extension");
    ext.load(&handle, &mut &bytes[..]).expect("state loads");
}

/// Saves the state through `instance` (the main thread's view while audio runs).
fn state_of(instance: &mut PluginInstance<TestHost>) -> Vec<u8> {
    let handle = instance.plugin_handle();
    let ext = handle
        .get_extension::<clack_extensions::state::PluginState>()
        .expect("state extension");
    let mut bytes = Vec::new();
    ext.save(&handle, &mut bytes).expect("state saves");
    bytes
}

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
            let mut seed = 0xFEED_5EEDu64;
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
    // enums as step indices (Algorithm: 0 HPSS, 1 REPET, 2 REPET-SIM, 3 2DFT, 4 NMF).
    type Case = (&'static str, &'static [(&'static str, f64)], (&'static str, f64));
    let cases: &[Case] = &[
        ("FFT size", &[], ("FFT size", 1.0)),
        ("Low latency", &[], ("Low latency", 1.0)),
        ("Harmonic width", &[], ("Harmonic width", 0.3)),
        ("residual on", &[], ("Separation factor", 0.5)),
        ("HPSS to REPET", &[], ("Algorithm", 1.0)),
        ("Lookahead", &[("Algorithm", 1.0)], ("Lookahead", 0.1)),
        ("Buffer length", &[("Algorithm", 1.0)], ("Buffer length", 0.25)),
        ("REPET to REPET-SIM", &[("Algorithm", 1.0)], ("Algorithm", 2.0)),
        ("REPET-SIM to 2DFT", &[("Algorithm", 2.0)], ("Algorithm", 3.0)),
        ("Patch length", &[("Algorithm", 3.0)], ("Patch length", 0.2)),
        ("Neighbourhood", &[("Algorithm", 3.0)], ("Neighbourhood", 0.6)),
        ("2DFT to NMF", &[("Algorithm", 3.0)], ("Algorithm", 4.0)),
        ("NMF to HPSS", &[("Algorithm", 4.0)], ("Algorithm", 0.0)),
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
                    let around = (CHANGE_AT * SR) as usize..heard;
                    let r = roughness(&got[0][0][around]);
                    assert!(r < 0.05, "{}: {what}: the switch clicks ({r})", path.display());
                });
            }
        });
    }
}
