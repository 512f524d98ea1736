//! Opens the plugin's editor as a host does, headless, and looks at it.
//!
//! The built plugin is loaded through `clack-host`, audio is played through it, and
//! its editor is embedded in an X11 window of ours on an Xvfb display (started here
//! when `DISPLAY` is unset). The window is then read back pixel by pixel: the test
//! fails on a blank or half-drawn editor, on views that do not move with the music,
//! and on a 200 % scale that does not scale.
//!
//! Screenshots land in `target/editor/`; with `UNWEAVE_UPDATE_SCREENSHOT=1` the
//! REPET one also replaces `assets/editor.png`, the picture in the README.
//! `cargo xtask test` sets `UNWEAVE_REQUIRE_EDITOR=1`, which turns a missing Xvfb
//! into a failure instead of a skip.

mod common;

use std::ffi::CStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clack_extensions::gui::{
    GuiApiType, GuiConfiguration, GuiSize, HostGui, HostGuiImpl, PluginGui, Window as ClapWindow,
};
use clack_extensions::params::{ParamInfoBuffer, PluginParams};
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ConfigureWindowAux, ConnectionExt, CreateWindowAux, ImageFormat, WindowClass,
};

struct Shared;
impl SharedHandler<'_> for Shared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

// A host without the GUI extension makes nice-plug 0.4.2 panic in `gui.create`;
// every real host has one.
impl HostGuiImpl for Shared {
    fn resize_hints_changed(&self) {}
    fn request_resize(&self, _: GuiSize) -> Result<(), HostError> {
        Err(HostError::Message("this test host keeps its window size"))
    }
    fn request_show(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn request_hide(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn closed(&self, _: bool) {}
}

struct Host;
impl HostHandlers for Host {
    type Shared<'a> = Shared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _: &Self::Shared<'_>) {
        builder.register::<HostGui>();
    }
}

const ID: &CStr = c"org.unweave.unweave";
const SR: f64 = 44_100.0;
const BLOCK: usize = 512;

/// An Xvfb server of our own, stopped when dropped.
struct Xvfb(Child);

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The display to draw on: `$DISPLAY`, else a new Xvfb. `None` when there is neither.
fn display() -> Option<(String, Option<Xvfb>)> {
    if let Some(d) = std::env::var_os("DISPLAY").filter(|d| !d.is_empty()) {
        return Some((d.to_string_lossy().into_owned(), None));
    }
    // Xvfb picks a free display number and writes it to the descriptor we name.
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "2400x1600x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .ok()?;
    let number: u32 = line.trim().parse().ok()?;
    Some((format!(":{number}"), Some(Xvfb(child))))
}

/// An RGB picture of a window.
struct Picture {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Picture {
    fn pixels(&self) -> impl Iterator<Item = [u8; 3]> + '_ {
        self.rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]])
    }

    fn distinct_colours(&self) -> usize {
        let mut seen: Vec<u32> = self
            .pixels()
            .map(|[r, g, b]| (r as u32) << 16 | (g as u32) << 8 | b as u32)
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    /// Pixels of the foreground (amber) and background (blue) mask colours, which
    /// only the spectrogram and the meters draw, and only with sound going through.
    fn stem_pixels(&self) -> (usize, usize) {
        let amber = |[r, g, b]: [u8; 3]| r > 90 && r as i32 > b as i32 + 60 && g as i32 > b as i32;
        let blue = |[r, _, b]: [u8; 3]| b > 90 && b as i32 > r as i32 + 60;
        (
            self.pixels().filter(|&p| amber(p)).count(),
            self.pixels().filter(|&p| blue(p)).count(),
        )
    }

    /// Whether the picture is a fully drawn editor with sound in its views.
    fn judge(&self) -> Result<(), String> {
        let colours = self.distinct_colours();
        // Our parent window is magenta: no pixel of it may show through.
        let magenta = self.pixels().filter(|p| *p == [255, 0, 255]).count();
        let (amber, blue) = self.stem_pixels();
        let area = self.width * self.height;
        if colours <= 200 {
            Err(format!("only {colours} colours: a blank editor?"))
        } else if magenta > 0 {
            Err(format!("{magenta} pixels of the window are not covered"))
        } else if amber <= area / 200 || blue <= area / 200 {
            Err(format!(
                "the views show no separation ({amber} / {blue} stem pixels)"
            ))
        } else {
            Ok(())
        }
    }

    fn save(&self, path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let mut encoder = png::Encoder::new(file, self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&self.rgb).unwrap();
    }
}

fn grab(conn: &impl Connection, window: u32, width: u16, height: u16) -> Picture {
    let image = conn
        .get_image(ImageFormat::Z_PIXMAP, window, 0, 0, width, height, !0)
        .unwrap()
        .reply()
        .unwrap();
    assert_eq!(image.depth, 24, "a 24-bit display");
    // 24-bit Z-pixmaps come as little-endian BGRX words.
    let rgb = image
        .data
        .chunks_exact(4)
        .flat_map(|p| [p[2], p[1], p[0]])
        .collect();
    Picture {
        width: width as usize,
        height: height as usize,
        rgb,
    }
}

/// What one look at the editor plays and how.
struct Scene<'a> {
    /// Parameter names and plain values (enum index) set before activation.
    params: &'a [(&'a str, f64)],
    input: [Vec<f32>; 2],
    scale: f64,
}

/// Hosts the plugin, plays `scene.input` through it with the editor open, and returns
/// the editor's picture (once its views show sound) and its size.
fn look(display: &str, scene: &Scene) -> Picture {
    // SAFETY: setting DISPLAY before any X connection of this process exists; the
    // tests in this file run one after another (see `editor_opens_headless`).
    unsafe { std::env::set_var("DISPLAY", display) };
    let (conn, screen) = x11rb::connect(Some(display)).expect("connects to the X display");
    let root = conn.setup().roots[screen].root;

    // SAFETY: we load our own plugin, built by this workspace.
    let entry = unsafe { PluginEntry::load(common::built_library()) }.expect("loads the plugin");
    let info = HostInfo::new(
        "Unweave editor test",
        "Unweave",
        "https://example.invalid",
        "1",
    )
    .unwrap();
    let mut instance = PluginInstance::<Host>::new(|_| Shared, |_| (), &entry, ID, &info)
        .expect("the plugin instantiates");

    // Parameters before activation, as a project being loaded sets them.
    {
        let handle = instance.plugin_handle();
        let params = handle.get_extension::<PluginParams>().unwrap();
        let mut buffer = ParamInfoBuffer::new();
        let mut events = Vec::new();
        for i in 0..params.count(&handle) {
            let p = params.get_info(&handle, i, &mut buffer).unwrap();
            let name = String::from_utf8_lossy(p.name).into_owned();
            if let Some((_, value)) = scene.params.iter().find(|(n, _)| *n == name) {
                events.push(ParamValueEvent::new(0, p.id, Pckn::match_all(), *value));
            }
        }
        assert_eq!(
            events.len(),
            scene.params.len(),
            "every scene parameter exists"
        );
        let mut inactive = instance.inactive_plugin_handle().unwrap();
        let mut out = EventBuffer::new();
        params.flush(
            &mut inactive,
            &InputEvents::from_buffer(&events),
            &mut OutputEvents::from_buffer(&mut out),
        );
    }

    let handle = instance.plugin_handle();
    let gui = handle.get_extension::<PluginGui>().expect("gui extension");
    let x11 = GuiConfiguration {
        api_type: GuiApiType::X11,
        is_floating: false,
    };
    assert!(gui.is_api_supported(&handle, x11), "embeds in X11");
    gui.create(&handle, x11).expect("creates its editor");
    gui.set_scale(&handle, scene.scale)
        .expect("takes the scale");
    let size = gui.get_size(&handle).expect("has a size");
    let (width, height) = (size.width as u16, size.height as u16);
    let parent = conn.generate_id().unwrap();
    conn.create_window(
        24,
        parent,
        root,
        0,
        0,
        width,
        height,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new().background_pixel(0x00ff00ff),
    )
    .unwrap();
    conn.map_window(parent).unwrap();
    // Wait until the server has made the window: the editor reparents itself into it
    // over its own connection, which fails now and then if ours is still in flight.
    x11rb::wrapper::ConnectionExt::sync(&conn).unwrap();
    // SAFETY: `parent` is a live window of ours that outlives the editor.
    unsafe { gui.set_parent(&handle, ClapWindow::from_x11_handle(parent as _)) }
        .expect("embeds in our window");
    gui.show(&handle).expect("shows");

    let config = PluginAudioConfiguration {
        sample_rate: SR,
        min_frames_count: 1,
        max_frames_count: BLOCK as u32,
    };
    let mut processor = instance
        .activate(|_, _| (), config)
        .expect("activates")
        .start_processing()
        .expect("starts");
    let mut in_ports = AudioPorts::with_capacity(2, 1);
    let mut out_ports = AudioPorts::with_capacity(8, 4);
    let mut outb = vec![vec![0.0f32; BLOCK]; 8];
    let len = scene.input[0].len();
    let mut pos = 0;
    let started = Instant::now();
    let mut picture = None;
    // Play the input once at about eight times real time, then look at the editor
    // until its views show sound on both stems (or time runs out).
    while started.elapsed() < Duration::from_secs(40) {
        for _ in 0..8 {
            if pos == len {
                break;
            }
            let n = BLOCK.min(len - pos);
            let mut inb: Vec<Vec<f32>> = scene
                .input
                .iter()
                .map(|c| c[pos..pos + n].to_vec())
                .collect();
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
                    chunks.next().unwrap().iter_mut().map(|b| &mut b[..n]),
                ),
            }));
            processor
                .process(
                    &input_audio,
                    &mut output_audio,
                    &InputEvents::empty(),
                    &mut OutputEvents::void(),
                    None,
                    None,
                )
                .expect("processes");
            pos += n;
        }
        std::thread::sleep(Duration::from_millis(
            BLOCK as u64 * 8 * 1000 / SR as u64 / 8,
        ));
        if pos < len {
            continue;
        }
        let shot = grab(&conn, parent, width, height);
        let drawn = shot.judge().is_ok();
        picture = Some(shot);
        if drawn {
            // One more paint, so the picture is not one caught mid-update.
            std::thread::sleep(Duration::from_millis(300));
            let again = grab(&conn, parent, width, height);
            if again.judge().is_ok() {
                picture = Some(again);
            }
            break;
        }
    }
    let stopped = processor.stop_processing();
    instance.deactivate(stopped);
    let handle = instance.plugin_handle();

    // The host resizes the editor; closed and opened again, it keeps that size.
    assert!(gui.can_resize(&handle), "the editor is resizable");
    let bigger = GuiSize {
        width: size.width + 160,
        height: size.height + 100,
    };
    conn.configure_window(
        parent,
        &ConfigureWindowAux::new()
            .width(bigger.width)
            .height(bigger.height),
    )
    .unwrap();
    conn.flush().unwrap();
    gui.set_size(&handle, bigger).expect("takes a new size");
    // The editor repaints at its own pace: give it a few seconds on a loaded machine.
    let asked = Instant::now();
    loop {
        let resized = grab(&conn, parent, bigger.width as u16, bigger.height as u16);
        let magenta = resized.pixels().filter(|p| *p == [255, 0, 255]).count();
        if magenta == 0 {
            break;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "the resized editor leaves {magenta} pixels of its window uncovered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    gui.destroy(&handle);
    gui.create(&handle, x11).expect("opens again");
    gui.set_scale(&handle, scene.scale).unwrap();
    assert_eq!(
        gui.get_size(&handle).map(|s| (s.width, s.height)),
        Some((bigger.width, bigger.height)),
        "the editor state keeps its size"
    );
    gui.destroy(&handle);
    drop(instance);
    conn.destroy_window(parent).unwrap();
    conn.flush().unwrap();
    picture.expect("the editor was looked at")
}

#[test]
fn editor_opens_headless() {
    let Some((display, _xvfb)) = display() else {
        assert!(
            std::env::var_os("UNWEAVE_REQUIRE_EDITOR").is_none(),
            "no DISPLAY and no Xvfb: cannot open the editor"
        );
        eprintln!("skipped: no DISPLAY and no Xvfb on PATH");
        return;
    };
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../editor");
    // Every call into the plugin from one thread of ours (see tests/clap_host.rs).
    std::thread::scope(|s| {
        s.spawn(|| {
            // REPET on a looping band with a lead: the corpus's organ item (20 s, a
            // 5 s period), else a loop made here; spectrogram, beat spectrum, period.
            let input = match common::corpus() {
                Some(dir) => {
                    let (mix, _) = common::read_wav(&dir.join("repet_dev_01_organ/mix.wav"));
                    [mix[0].clone(), mix[mix.len() - 1].clone()]
                }
                None => {
                    let len = (16.0 * 1.6 * SR) as usize;
                    let (band, lead) = common::loop_and_lead(len, SR as f32, 1.6, 7);
                    let mix: Vec<f32> = band.iter().zip(&lead).map(|(b, l)| b + l).collect();
                    [mix.clone(), mix]
                }
            };
            let repet = look(
                &display,
                &Scene {
                    params: &[("Algorithm", 1.0)],
                    input,
                    scale: 1.0,
                },
            );
            // HPSS at 200 % on the demo (drums and chords).
            let (demo, _) = common::read_wav(
                &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/demo.wav"),
            );
            let hpss = look(
                &display,
                &Scene {
                    params: &[],
                    input: [demo[0].clone(), demo[demo.len() - 1].clone()],
                    scale: 2.0,
                },
            );
            for (picture, name) in [(&repet, "repet-100"), (&hpss, "hpss-200")] {
                picture.save(&out.join(format!("{name}.png")));
                eprintln!("{name}: {}×{}", picture.width, picture.height);
                if let Err(why) = picture.judge() {
                    panic!("{name} (see {}): {why}", out.display());
                }
            }
            assert_eq!(
                (hpss.width, hpss.height),
                (2 * repet.width, 2 * repet.height),
                "200 % doubles the editor"
            );
            if std::env::var_os("UNWEAVE_UPDATE_SCREENSHOT").is_some() {
                repet.save(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/editor.png"));
            }
        })
        .join()
        .unwrap();
    });
}
