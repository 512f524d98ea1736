//! A CLAP host for the tests: loads the built plugin through clack-host, as a DAW
//! would, activates it, renders blocks of varying size with parameter events, and
//! saves and loads its state.

use std::cell::Cell;
use std::ffi::CStr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use clack_extensions::audio_ports::{
    AudioPortInfoBuffer, AudioPortRescanFlags, HostAudioPorts, HostAudioPortsImpl, PluginAudioPorts,
};
use clack_extensions::latency::PluginLatency;
use clack_extensions::params::{ParamInfoBuffer, ParamInfoFlags, PluginParams};
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;
use clack_host::utils::ClapId;
pub use unweave::rng::XorShift;

pub struct HostShared {
    pub restart: AtomicBool,
}

impl SharedHandler<'_> for HostShared {
    fn request_restart(&self) {
        self.restart.store(true, Ordering::SeqCst);
    }
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

/// The host's main thread: it keeps count of the plugin's requests to re-read its port
/// names, as a DAW re-reads them to relabel its routing.
#[derive(Default)]
pub struct HostMain {
    pub name_rescans: Cell<u32>,
}

impl MainThreadHandler<'_> for HostMain {}

impl HostAudioPortsImpl for HostMain {
    fn is_rescan_flag_supported(&self, flag: AudioPortRescanFlags) -> bool {
        // Only what a host allows while the plugin is active.
        flag == AudioPortRescanFlags::NAMES
    }
    fn rescan(&self, flags: AudioPortRescanFlags) {
        assert_eq!(flags, AudioPortRescanFlags::NAMES, "only names may change");
        self.name_rescans.set(self.name_rescans.get() + 1);
    }
}

pub struct TestHost;
impl HostHandlers for TestHost {
    type Shared<'a> = HostShared;
    type MainThread<'a> = HostMain;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder.register::<HostAudioPorts>();
    }
}

/// The plugin builds to host: the release bundle if given, and this run's own library.
pub fn plugin_paths() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    match std::env::var_os("UNWEAVE_CLAP_BUNDLE").map(PathBuf::from) {
        Some(p) if p.is_file() => paths.push(p),
        Some(p) => panic!("UNWEAVE_CLAP_BUNDLE={} does not exist", p.display()),
        None => eprintln!(
            "UNWEAVE_CLAP_BUNDLE not set: hosting only this test run's library (run `cargo xtask test`)"
        ),
    }
    paths.push(super::built_library());
    paths
}

pub const ID: &CStr = c"org.unweave.unweave";
pub const SR: f64 = 44_100.0;
pub const MAX_BLOCK: u32 = 512;

/// Runs `f` on a thread of its own and waits for it. Every call into the plugin happens
/// there: a Rust cdylib registers thread-local destructors in each thread that runs its
/// code, and the test harness's worker threads may still be exiting (running them) while
/// the process finalises the library, which crashes (rust-lang/rust#88737). A joined
/// thread runs its destructors while the library is certainly loaded.
pub fn on_host_thread(f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        if let Err(panic) = s.spawn(f).join() {
            std::panic::resume_unwind(panic);
        }
    });
}

/// One loaded entry per library for the whole test process, as a DAW keeps it.
pub fn entry(path: &PathBuf) -> PluginEntry {
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

pub struct Hosted {
    pub instance: PluginInstance<TestHost>,
    /// How `render` activates and slices: sample rate, largest block, block sizes in turn.
    pub sample_rate: f64,
    pub max_block: u32,
    pub blocks: Vec<usize>,
    pub params: Vec<(String, ClapId, ParamInfoFlags, f64)>,
    /// `(min, max)` of each of `params`, in the values the host sends.
    pub ranges: Vec<(f64, f64)>,
    pub output_ports: Vec<(String, u32)>,
}

pub fn load(path: &PathBuf) -> (PluginEntry, Hosted) {
    let entry = entry(path);
    let info = HostInfo::new("Unweave tests", "Unweave", "https://example.invalid", "1.0").unwrap();
    let mut instance = PluginInstance::<TestHost>::new(
        |_| HostShared {
            restart: AtomicBool::new(false),
        },
        |_| HostMain::default(),
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
    let output_ports = output_ports(&mut instance);
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

/// The output ports' names and channel counts, as the plugin reports them now.
pub fn output_ports(instance: &mut PluginInstance<TestHost>) -> Vec<(String, u32)> {
    let handle = instance.plugin_handle();
    let ports_ext = handle
        .get_extension::<PluginAudioPorts>()
        .expect("audio-ports extension");
    let mut pbuf = AudioPortInfoBuffer::new();
    (0..ports_ext.count(&handle, false))
        .map(|i| {
            let p = ports_ext.get(&handle, i, false, &mut pbuf).unwrap();
            (
                String::from_utf8_lossy(p.name).into_owned(),
                p.channel_count,
            )
        })
        .collect()
}

impl Hosted {
    /// The auxiliary outputs' names as the host reads them now, after running the
    /// plugin's main-thread callback (where a plugin tells the host what changed).
    pub fn aux_output_names(&mut self) -> Vec<String> {
        self.instance.call_on_main_thread_callback();
        output_ports(&mut self.instance)
            .into_iter()
            .skip(1)
            .map(|p| p.0)
            .collect()
    }

    /// How often the plugin asked the host to re-read its port names.
    pub fn name_rescans(&self) -> u32 {
        self.instance.access_handler(|h| h.name_rescans.get())
    }

    pub fn param(&self, name: &str) -> ClapId {
        self.params
            .iter()
            .find(|p| p.0 == name)
            .unwrap_or_else(|| panic!("no parameter '{name}'"))
            .1
    }

    pub fn latency(&mut self) -> u32 {
        let handle = self.instance.plugin_handle();
        let ext = handle
            .get_extension::<PluginLatency>()
            .expect("latency extension");
        ext.get(&handle)
    }

    /// Activates, sends `events` (normalised values) with the first block, renders
    /// `input` (stereo) in blocks of varying size, returns every output port.
    pub fn render(
        &mut self,
        input: &[Vec<f32>; 2],
        events: &[(ClapId, f64)],
    ) -> Vec<[Vec<f32>; 2]> {
        self.render_with(input, &mut |block| {
            if block == 0 {
                events.to_vec()
            } else {
                Vec::new()
            }
        })
    }

    /// As [`Hosted::render`], with `events(block index)` sent at the start of every block.
    pub fn render_with(
        &mut self,
        input: &[Vec<f32>; 2],
        events: &mut dyn FnMut(usize) -> Vec<(ClapId, f64)>,
    ) -> Vec<[Vec<f32>; 2]> {
        self.render_hooked(input, events, &mut |_, _| {})
    }

    /// As [`Hosted::render_with`], calling `main_thread(block index, instance)`
    /// before every block, as a host's main thread acts while audio runs.
    pub fn render_hooked(
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
        // A buffer pair for every port the plugin has, as CLAP asks of a host.
        let ports = self.output_ports.len();
        let mut outputs: Vec<[Vec<f32>; 2]> = (0..ports)
            .map(|_| [Vec::with_capacity(len), Vec::with_capacity(len)])
            .collect();
        let mut in_ports = AudioPorts::with_capacity(2, 1);
        let mut out_ports = AudioPorts::with_capacity(2 * ports, ports);
        let mut pos = 0;
        let mut k = 0;
        while pos < len {
            main_thread(k, &mut self.instance);
            let n = self.blocks[k % self.blocks.len()].min(len - pos);
            let mut inb: Vec<Vec<f32>> = input.iter().map(|c| c[pos..pos + n].to_vec()).collect();
            let mut outb: Vec<Vec<f32>> = vec![vec![0.0; n]; 2 * ports];
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
            let mut output_audio =
                out_ports.with_output_buffers((0..ports).map(|_| AudioPortBuffer {
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
pub fn delayed_by(signal: &[f32], latency: usize) -> Vec<f32> {
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

pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Every parameter's id, whether it is stepped, and its range in host values.
pub fn parameter_specs(host: &Hosted) -> Vec<(ClapId, bool, f64, f64)> {
    host.params
        .iter()
        .zip(&host.ranges)
        .map(|((_, id, flags, _), (min, max))| {
            (*id, flags.contains(ParamInfoFlags::IS_STEPPED), *min, *max)
        })
        .collect()
}

/// Random values for the given parameters at once, in range, whole for stepped ones.
pub fn random_events(
    specs: &[(ClapId, bool, f64, f64)],
    random: &mut XorShift,
) -> Vec<(ClapId, f64)> {
    specs
        .iter()
        .map(|&(id, stepped, min, max)| {
            let v = min + random.uniform_f64() * (max - min);
            (id, if stepped { v.round() } else { v })
        })
        .collect()
}

/// Largest second difference of a signal: a click shows as a jump in slope.
pub fn roughness(x: &[f32]) -> f32 {
    x.windows(3)
        .map(|w| (w[2] - 2.0 * w[1] + w[0]).abs())
        .fold(0.0, f32::max)
}

/// Loads a state through `instance` (as a host's main thread does while audio runs).
pub fn load_state_into(instance: &mut PluginInstance<TestHost>, bytes: &[u8]) {
    let handle = instance.plugin_handle();
    let ext = handle
        .get_extension::<clack_extensions::state::PluginState>()
        .expect("state extension");
    ext.load(&handle, &mut &bytes[..]).expect("state loads");
}

/// Saves the state through `instance` (the main thread's view while audio runs).
pub fn state_of(instance: &mut PluginInstance<TestHost>) -> Vec<u8> {
    let handle = instance.plugin_handle();
    let ext = handle
        .get_extension::<clack_extensions::state::PluginState>()
        .expect("state extension");
    let mut bytes = Vec::new();
    ext.save(&handle, &mut bytes).expect("state saves");
    bytes
}

impl Hosted {
    pub fn save_state(&mut self) -> Vec<u8> {
        state_of(&mut self.instance)
    }

    pub fn load_state(&mut self, bytes: &[u8]) {
        load_state_into(&mut self.instance, bytes);
    }
}
