//! Settings that need a new engine (FFT size, algorithm, lookahead, …) heard while audio
//! runs, in every host, including hosts that never re-activate the plugin.
//!
//! ```text
//! audio thread                                          background thread
//! settings need a new engine ── Task::Build ──────────▶ Engine::new, NMF templates
//!          incoming engine ◀──── Handover (one slot) ── Prepared
//! incoming: fed the recorded input at PRIME_SPEED× real time until it has caught up,
//!           then live beside the playing engine, crossfaded in over SWAP_FADE_MS;
//!           its latency goes to the host
//! old engine ── Task::Retire ─────────────────────────▶ dropped there
//! ```
//!
//! The recorded input covers the longest latency any settings can have, so the new
//! engine's first output already has its lookahead behind it, and for a stream younger
//! than that it is bit for bit what an engine that always had the settings gives. At
//! [`PRIME_SPEED`] the catching up takes at most 0.7 s; the build itself takes a few
//! milliseconds to a few tens. A bounce (offline processing) builds on the spot, so the
//! switch falls on the block after the change whatever the host's speed.

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use ringbuf::HeapProd;

use super::learn::{self, TemplateStore};
use crate::engine::{Algorithm, Engine, EngineError, Settings, latency_of, sanitise};

/// Recorded samples fed to an incoming engine per live sample while it catches up.
pub const PRIME_SPEED: usize = 16;
/// An incoming engine takes over over this long.
pub const SWAP_FADE_MS: f32 = 20.0;
/// Seconds of audio after which a build that has not arrived is asked for again.
const REBUILD_PATIENCE: f32 = 2.0;

/// What the background thread builds.
#[derive(Debug)]
pub struct BuildJob {
    generation: u64,
    settings: Settings,
    sample_rate: f32,
    channels: usize,
    max_block: usize,
}

/// An engine ready to play, with what Learn needs of it.
pub struct Prepared {
    generation: u64,
    /// Taken out when the engine starts playing; the rest is retired.
    engine: Option<Box<Engine>>,
    capture: Option<HeapProd<f32>>,
}

/// What the audio thread hands back to be dropped elsewhere (freeing is as much
/// off-limits there as allocating).
pub struct Retired {
    pub engine: Option<Box<Engine>>,
    pub capture: Option<HeapProd<f32>>,
    pub prepared: Option<Box<Prepared>>,
}

impl std::fmt::Debug for Retired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Retired")
    }
}

/// Builds `job`, off the audio thread.
pub fn prepare(
    job: &BuildJob,
    store: &TemplateStore,
    still_wanted: &dyn Fn() -> bool,
) -> Result<Prepared, EngineError> {
    let mut engine = Box::new(Engine::new(
        job.settings,
        job.sample_rate,
        job.channels,
        job.max_block,
    )?);
    let nmf = job.settings.algorithm == Algorithm::Nmf;
    let capture = learn::prepare(store, &mut engine, nmf, still_wanted);
    Ok(Prepared {
        generation: job.generation,
        engine: Some(engine),
        capture,
    })
}

/// One slot from the background thread to the audio thread; a newer engine replaces
/// one not yet taken.
#[derive(Default)]
pub struct Handover {
    slot: AtomicPtr<Prepared>,
    /// The build the audio thread waits for; others are dropped unbuilt or unseen.
    wanted: AtomicU64,
}

impl Handover {
    /// Builds what `job` asks for and leaves it in the slot. Background thread.
    pub fn build(&self, job: BuildJob, store: &TemplateStore) {
        if job.generation != self.wanted.load(Ordering::Acquire) {
            return;
        }
        let wanted = || job.generation == self.wanted.load(Ordering::Acquire);
        match prepare(&job, store, &wanted) {
            Ok(prepared) => self.offer(prepared),
            Err(e) => nice_plug::nice_error!("cannot build the engine: {e}"),
        }
    }

    fn offer(&self, prepared: Prepared) {
        let new = Box::into_raw(Box::new(prepared));
        let old = self.slot.swap(new, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: every pointer in the slot came from `Box::into_raw` above, and the
            // swap made this thread its only owner.
            drop(unsafe { Box::from_raw(old) });
        }
    }

    fn take(&self) -> Option<Box<Prepared>> {
        let p = self.slot.swap(std::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: as in `offer`: from `Box::into_raw`, and now owned by this thread alone.
        (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
    }
}

impl Drop for Handover {
    fn drop(&mut self) {
        drop(self.take());
    }
}

struct Incoming {
    /// Holds the engine (and its capture ring) until it plays.
    prepared: Box<Prepared>,
    /// Samples of the stream it has been fed.
    consumed: u64,
    /// Samples of the crossfade done, once it runs live.
    faded: Option<usize>,
}

impl Incoming {
    fn engine(&mut self) -> &mut Engine {
        self.prepared.engine.as_deref_mut().expect("incoming")
    }
}

/// What [`Switcher::follow`] asks of the plugin.
pub enum Follow {
    /// Nothing, or applied live.
    Done,
    /// Build this (on the background thread, or at once when offline).
    Build(BuildJob),
}

/// A new engine that has faded in, with its capture ring and the shell it came in.
pub type FadedIn = (Box<Engine>, Option<HeapProd<f32>>, Box<Prepared>);

/// The audio thread's side: records the input, decides when a new engine is needed,
/// primes it and crossfades to it. Everything is allocated in [`Switcher::activate`].
pub struct Switcher {
    handover: std::sync::Arc<Handover>,
    generation: u64,
    /// The settings of the build in flight, and when (in samples recorded) it was asked for.
    requested: Option<Settings>,
    requested_at: u64,
    incoming: Option<Incoming>,
    sample_rate: f32,
    max_block: usize,
    /// The sanitised input, a ring of `history_len` samples per channel.
    history: Vec<Vec<f32>>,
    /// Samples recorded since activation or reset.
    written: u64,
    chunk: Vec<Vec<f32>>,
    fade_len: usize,
    /// The stems the outputs play: the engine's, or the crossfade between two engines.
    out: [Vec<Vec<f32>>; crate::engine::MAX_STEMS],
    len: usize,
}

impl Switcher {
    pub fn new(handover: std::sync::Arc<Handover>) -> Self {
        Self {
            handover,
            generation: 0,
            requested: None,
            requested_at: 0,
            incoming: None,
            sample_rate: 44_100.0,
            max_block: 0,
            history: Vec::new(),
            written: 0,
            chunk: Vec::new(),
            fade_len: 1,
            out: Default::default(),
            len: 0,
        }
    }

    /// The longest latency any settings have at `sample_rate`: what the history holds.
    /// Each setting that can need a new engine is taken at whichever end of its range
    /// gives the longer latency, for every algorithm.
    pub fn longest_latency(sample_rate: f32) -> usize {
        use crate::engine::settings::{Kind, Rebuild, SPECS};
        let longest = |s: &Settings| {
            Algorithm::ALL
                .iter()
                .map(|&algorithm| latency_of(&Settings { algorithm, ..*s }, sample_rate))
                .max()
                .unwrap_or(0)
        };
        let mut s = Settings::default();
        for spec in SPECS.iter().filter(|spec| spec.rebuilds != Rebuild::Never) {
            let ends = match spec.kind {
                Kind::Float { min, max } => [min, max],
                Kind::Integer { min, max } => [min as f32, max as f32],
                Kind::Switch => [0.0, 1.0],
                Kind::Choice { ids, .. } => [0.0, (ids.len() - 1) as f32],
                Kind::Steps { values, .. } => [values[0], values[values.len() - 1]],
            };
            let at = ends.map(|v| {
                let mut t = s;
                (spec.set)(&mut t, v);
                (longest(&t), t)
            });
            s = if at[1].0 >= at[0].0 { at[1].1 } else { at[0].1 };
        }
        longest(&s)
    }

    /// Sizes everything for an activation; any build in flight is forgotten.
    pub fn activate(&mut self, engine: &Engine) {
        self.generation += 1;
        self.handover
            .wanted
            .store(self.generation, Ordering::Release);
        drop(self.handover.take());
        self.requested = None;
        self.incoming = None;
        self.sample_rate = engine.sample_rate();
        self.max_block = engine.max_block();
        let channels = engine.channels();
        let history_len = Self::longest_latency(self.sample_rate) + self.max_block;
        self.history = vec![vec![0.0; history_len]; channels];
        self.chunk = vec![vec![0.0; self.max_block]; channels];
        self.out = std::array::from_fn(|_| vec![vec![0.0; self.max_block]; channels]);
        for buf in self
            .history
            .iter_mut()
            .chain(&mut self.chunk)
            .chain(self.out.iter_mut().flatten())
        {
            crate::engine::prefault(buf);
        }
        self.written = 0;
        self.fade_len = ((SWAP_FADE_MS * 0.001 * self.sample_rate) as usize).max(1);
    }

    /// Back to silence, as the engines are reset.
    pub fn reset(&mut self) {
        self.written = 0;
        self.requested_at = 0;
        if let Some(incoming) = &mut self.incoming {
            incoming.engine().reset();
            incoming.consumed = 0;
            incoming.faded = None;
        }
    }

    /// Whether a new engine is on its way (being built, catching up or fading in).
    pub fn switching(&self) -> bool {
        self.requested.is_some() || self.incoming.is_some()
    }

    /// Records this block's input; call it first in every block.
    pub fn record<S: AsRef<[f32]>>(&mut self, input: &[S]) {
        let len = input.first().map_or(0, |c| c.as_ref().len());
        let cap = self.history.first().map_or(1, Vec::len);
        let start = (self.written % cap as u64) as usize;
        for (ring, x) in self.history.iter_mut().zip(input) {
            for (k, &x) in x.as_ref().iter().enumerate() {
                ring[(start + k) % cap] = sanitise(x);
            }
        }
        self.written += len as u64;
    }

    /// Applies `settings` live where the engine that will play can take them, and
    /// otherwise says what to build. Takes over an engine the background thread has
    /// finished, handing back one it replaces.
    pub fn follow(
        &mut self,
        settings: &Settings,
        engine: &mut Engine,
    ) -> (Follow, Option<Retired>) {
        let mut retired = None;
        if let Some(prepared) = self.handover.take() {
            let shell = |prepared| Retired {
                engine: None,
                capture: None,
                prepared: Some(prepared),
            };
            // The build asked for (settings changed since are applied to it live, or
            // ask for the next build below).
            if prepared.generation == self.generation && self.requested.is_some() {
                self.requested = None;
                let consumed = self.prime_from();
                retired = self
                    .incoming
                    .replace(Incoming {
                        prepared,
                        consumed,
                        faded: None,
                    })
                    .map(|i| shell(i.prepared));
            } else {
                retired = Some(shell(prepared));
            }
        }
        // The playing engine follows what it can, whatever happens next.
        let live = engine.update(settings);
        let incoming_live = self
            .incoming
            .as_mut()
            .map(|incoming| incoming.engine().update(settings));
        // One build in flight at a time: a host automating a setting every block must
        // not flood the background queue (other tasks, Learn's, share it). Changes made
        // meanwhile are taken up once it has arrived. A build whose task was lost (a
        // full queue) is asked for again after REBUILD_PATIENCE.
        let waited = self.written.saturating_sub(self.requested_at);
        let follow = match (&self.requested, incoming_live) {
            (Some(_), _) if waited < (REBUILD_PATIENCE * self.sample_rate) as u64 => Follow::Done,
            (None, Some(true)) => Follow::Done,
            (None, None) if live => Follow::Done,
            _ => {
                self.generation += 1;
                self.handover
                    .wanted
                    .store(self.generation, Ordering::Release);
                self.requested = Some(*settings);
                self.requested_at = self.written;
                Follow::Build(BuildJob {
                    generation: self.generation,
                    settings: *settings,
                    sample_rate: self.sample_rate,
                    channels: engine.channels(),
                    max_block: self.max_block,
                })
            }
        };
        (follow, retired)
    }

    /// Takes over an engine built on the spot (offline).
    pub fn arrive(&mut self, prepared: Prepared) {
        self.handover.offer(prepared);
    }

    /// Where an engine arriving now starts: as far back as the history reaches.
    fn prime_from(&self) -> u64 {
        let cap = self.history.first().map_or(0, Vec::len);
        self.written
            .saturating_sub(cap.saturating_sub(self.max_block) as u64)
    }

    /// The incoming engine, for what the plugin tells every engine (the host's tempo).
    pub fn incoming_mut(&mut self) -> Option<&mut Engine> {
        self.incoming.as_mut().map(Incoming::engine)
    }

    /// Runs the block through the incoming engine (catching up first) and fills the
    /// stems the outputs play. `engine` has processed `input` already. When the new
    /// engine has faded in, returns it with its capture ring.
    pub fn run<S: AsRef<[f32]>>(&mut self, input: &[S], engine: &Engine) -> Option<FadedIn> {
        let len = input.first().map_or(0, |c| c.as_ref().len());
        self.len = len;
        let block_start = self.written - len as u64;
        let cap = self.history.first().map_or(1, Vec::len);
        let channels = engine.channels();
        let mut live = false;
        if let Some(incoming) = &mut self.incoming {
            let mut budget = PRIME_SPEED * len.max(1);
            while incoming.consumed < block_start && budget > 0 {
                let n = (block_start - incoming.consumed)
                    .min(budget as u64)
                    .min(self.max_block as u64) as usize;
                let from = (incoming.consumed % cap as u64) as usize;
                for (chunk, ring) in self.chunk.iter_mut().zip(&self.history) {
                    for (k, c) in chunk[..n].iter_mut().enumerate() {
                        *c = ring[(from + k) % cap];
                    }
                }
                incoming
                    .engine()
                    .process(&chunk_slices(&self.chunk, n)[..channels]);
                incoming.consumed += n as u64;
                budget -= n;
            }
            if incoming.consumed == block_start {
                incoming.engine().process(input);
                incoming.consumed += len as u64;
                live = true;
            }
        }
        match (&mut self.incoming, live) {
            (Some(incoming), true) => {
                let faded = incoming.faded.get_or_insert(0);
                let fade = self.fade_len as f32;
                for (s, out) in self.out.iter_mut().enumerate() {
                    let stem = s;
                    for (c, out) in out.iter_mut().enumerate().take(channels) {
                        let new = incoming.prepared.engine.as_deref().expect("incoming");
                        let (old, new) = (engine.stem(stem, c), new.stem(stem, c));
                        for i in 0..len {
                            let a = ((*faded + i + 1) as f32 / fade).min(1.0);
                            out[i] = old[i] + a * (new[i] - old[i]);
                        }
                    }
                }
                *faded += len;
                if *faded >= self.fade_len {
                    let mut done = self.incoming.take().expect("fading in");
                    let engine = done.prepared.engine.take().expect("incoming");
                    let capture = done.prepared.capture.take();
                    return Some((engine, capture, done.prepared));
                }
            }
            _ => {
                for (s, out) in self.out.iter_mut().enumerate() {
                    let stem = s;
                    for (c, out) in out.iter_mut().enumerate().take(channels) {
                        out[..len].copy_from_slice(engine.stem(stem, c));
                    }
                }
            }
        }
        None
    }

    /// One channel of one stem as the outputs play it, for the last block.
    pub fn stem(&self, stem: impl Into<usize>, channel: usize) -> &[f32] {
        &self.out[stem.into()][channel][..self.len]
    }
}

/// The first `n` samples of each channel of `chunk`, without allocating.
fn chunk_slices(chunk: &[Vec<f32>], n: usize) -> [&[f32]; crate::engine::MAX_CHANNELS] {
    let mut slices: [&[f32]; crate::engine::MAX_CHANNELS] = [&[]; crate::engine::MAX_CHANNELS];
    for (s, c) in slices.iter_mut().zip(chunk) {
        *s = &c[..n];
    }
    slices
}
