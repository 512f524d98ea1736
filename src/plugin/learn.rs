//! Teaching NMF in the plugin: **Learn** captures, a background task factorises, the
//! audio thread takes the templates over without waiting.
//!
//! ```text
//! audio thread                               background thread
//! Learn on:  magnitude frames ─ capture ring ─▶ (Learn off or ring full: Task::Learn)
//!                                               Templates::learn ─ TemplateStore (saved with the project)
//!            engine.set_templates ◀─ inbox ──── mapped to the running analysis
//!            replaced templates ──── trash ───▶ dropped here, never on the audio thread
//! ```
//!
//! Loading a project or preset sets the store the same way, so loaded templates reach
//! a running engine through the same inbox. Everything the audio thread touches is
//! allocated in `activate`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicUsize, Ordering};

use atomic_float::AtomicF32;
use nice_plug::params::persist::PersistentField;
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use serde::{Deserialize, Serialize};

use crate::engine::nmf::Matrix;
use super::Task;
use crate::engine::{Engine, FrameObserver, FrameView, Templates};

/// Most frames a capture keeps: frames are taken at most every
/// [`Capture::stride`]-th so that this covers [`MAX_LEARN_SECONDS`] at any hop.
pub const MAX_LEARN_FRAMES: usize = 2048;
/// The longest passage Learn listens to; it stops by itself after this.
pub const MAX_LEARN_SECONDS: f32 = 30.0;
/// Shorter captures are not worth learning from.
pub const MIN_LEARN_SECONDS: f32 = 0.5;

/// What Learn is doing, for the editor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    Idle = 0,
    Listening = 1,
    Learning = 2,
    /// The last capture was too short, or silent.
    Failed = 3,
}

/// Templates as saved in the plugin's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredTemplates {
    pub sample_rate: f32,
    pub fft_size: usize,
    pub components: usize,
    /// How much audio they were learned from.
    pub seconds: f32,
    /// `components` columns of `fft_size / 2 + 1` values.
    pub data: Vec<f32>,
}

impl StoredTemplates {
    fn from_templates(t: &Templates, seconds: f32) -> Self {
        Self {
            sample_rate: t.sample_rate,
            fft_size: t.fft_size,
            components: t.components(),
            seconds,
            data: t.w.data.clone(),
        }
    }

    /// The engine's templates, or `None` when the stored ones are damaged.
    pub fn templates(&self) -> Option<Templates> {
        let bins = self.fft_size / 2 + 1;
        if self.data.len() != bins * self.components
            // Any power of two the engine may run (sizes scale outside the native rates).
            || !self.fft_size.is_power_of_two()
            || self.fft_size < 16
        {
            return None;
        }
        let w = Matrix {
            rows: bins,
            cols: self.components,
            data: self.data.clone(),
        };
        Templates::new(self.sample_rate, self.fft_size, w).ok()
    }
}

/// What travels to the audio thread.
pub enum Delivery {
    Templates(Box<Templates>),
    Forget,
}

/// A capture waiting for the background thread.
#[derive(Debug)]
pub struct LearnJob {
    frames: usize,
    bins: usize,
    sample_rate: f32,
    fft_size: usize,
    components: usize,
    seconds: f32,
}


/// The taught templates and everything the threads share about them. Persisted
/// with the plugin's state (the `nmf-templates` field).
pub struct TemplateStore {
    stored: Mutex<Option<StoredTemplates>>,
    /// The producer end of the audio thread's inbox and the consumer end of its trash.
    outbox: Mutex<Option<(HeapProd<Delivery>, HeapCons<Delivery>)>>,
    /// The background end of the capture ring.
    capture: Mutex<Option<HeapCons<f32>>>,
    /// The analysis of the running engine (0 when none), to map templates onto.
    fft_size: AtomicUsize,
    sample_rate: AtomicF32,
    status: AtomicU8,
    /// Seconds captured so far while listening.
    pub heard: AtomicF32,
    /// Bumped whenever the stored templates change.
    pub generation: AtomicU32,
}

impl Default for TemplateStore {
    fn default() -> Self {
        Self {
            stored: Mutex::new(None),
            outbox: Mutex::new(None),
            capture: Mutex::new(None),
            fft_size: AtomicUsize::new(0),
            sample_rate: AtomicF32::new(0.0),
            status: AtomicU8::new(Status::Idle as u8),
            heard: AtomicF32::new(0.0),
            generation: AtomicU32::new(0),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl TemplateStore {
    pub fn status(&self) -> Status {
        match self.status.load(Ordering::Acquire) {
            1 => Status::Listening,
            2 => Status::Learning,
            3 => Status::Failed,
            _ => Status::Idle,
        }
    }

    fn set_status(&self, status: Status) {
        self.status.store(status as u8, Ordering::Release);
    }

    /// `(components, seconds learned from)` of the stored templates. Not for the audio thread.
    pub fn summary(&self) -> Option<(usize, f32)> {
        lock(&self.stored)
            .as_ref()
            .map(|s| (s.components, s.seconds))
    }

    /// Replaces the stored templates and sends them to the running engine.
    pub fn store(&self, templates: Option<StoredTemplates>) {
        *lock(&self.stored) = templates;
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.deliver();
    }

    /// The stored templates mapped onto the running analysis, into the audio thread's
    /// inbox (emptying its trash first).
    fn deliver(&self) {
        let (fft_size, sample_rate) = (
            self.fft_size.load(Ordering::Acquire),
            self.sample_rate.load(Ordering::Acquire),
        );
        if fft_size == 0 {
            return;
        }
        let delivery = match lock(&self.stored).as_ref() {
            Some(s) => match s.templates() {
                Some(t) => Delivery::Templates(Box::new(t.for_analysis(sample_rate, fft_size))),
                None => Delivery::Forget,
            },
            None => Delivery::Forget,
        };
        if let Some((inbox, trash)) = lock(&self.outbox).as_mut() {
            while trash.try_pop().is_some() {}
            // The audio thread empties the inbox every block; it fills only while no
            // audio runs, and then the engine is rebuilt from the store on activation.
            let _ = inbox.try_push(delivery);
        }
    }

    /// Learns from a finished capture: runs on the background thread.
    pub fn learn(&self, job: LearnJob) {
        let mut frames = Matrix::zeros(job.bins, job.frames);
        let complete = lock(&self.capture)
            .as_mut()
            .is_some_and(|ring| ring.pop_slice(&mut frames.data) == frames.data.len());
        let learned = complete
            .then(|| Templates::learn(&frames, job.sample_rate, job.fft_size, job.components).ok())
            .flatten();
        match learned {
            Some(t) => {
                self.store(Some(StoredTemplates::from_templates(&t, job.seconds)));
                self.set_status(Status::Idle);
            }
            None => {
                if let Some(ring) = lock(&self.capture).as_mut() {
                    ring.clear();
                }
                self.set_status(Status::Failed);
            }
        }
    }
}

/// The store as the parameters hold it: the persisted field, shared with the plugin,
/// its background task and the editor.
#[derive(Clone, Default)]
pub struct SharedTemplates(pub std::sync::Arc<TemplateStore>);

impl std::ops::Deref for SharedTemplates {
    type Target = TemplateStore;
    fn deref(&self) -> &TemplateStore {
        &self.0
    }
}

impl<'a> PersistentField<'a, Option<StoredTemplates>> for SharedTemplates {
    fn set(&self, new_value: Option<StoredTemplates>) {
        self.store(new_value);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&Option<StoredTemplates>) -> R,
    {
        f(&lock(&self.stored))
    }
}

/// Gets `engine` ready for Learn, off the audio thread: gives it the stored templates
/// and, for NMF, makes the capture ring (its background end goes to the store). The
/// producer end is for [`Learner::retune`].
pub fn prepare(store: &TemplateStore, engine: &mut Engine, nmf: bool) -> Option<HeapProd<f32>> {
    let (fft_size, sample_rate) = (engine.fft_size(), engine.sample_rate());
    if let Some(stored) = lock(&store.stored)
        .as_ref()
        .and_then(StoredTemplates::templates)
    {
        let _ = engine.set_templates(Box::new(stored.for_analysis(sample_rate, fft_size)));
    }
    if nmf {
        let (producer, consumer) = HeapRb::new(MAX_LEARN_FRAMES * (fft_size / 2 + 1)).split();
        *lock(&store.capture) = Some(consumer);
        Some(producer)
    } else {
        *lock(&store.capture) = None;
        None
    }
}

/// The audio thread's side: capture while Learn is on, take delivered templates.
pub struct Learner {
    store: SharedTemplates,
    inbox: HeapCons<Delivery>,
    trash: HeapProd<Delivery>,
    capture: Option<HeapProd<f32>>,
    bins: usize,
    sample_rate: f32,
    fft_size: usize,
    /// Keep one frame in this many.
    stride: usize,
    skipped: usize,
    frames: usize,
    frame_seconds: f32,
    listening: bool,
    was_on: bool,
}

impl Learner {
    pub fn new(store: SharedTemplates) -> Self {
        let (inbox, trash) = Self::connect(&store);
        Self {
            store,
            inbox,
            trash,
            capture: None,
            bins: 0,
            sample_rate: 0.0,
            fft_size: 0,
            stride: 1,
            skipped: 0,
            frames: 0,
            frame_seconds: 0.0,
            listening: false,
            was_on: false,
        }
    }

    fn connect(store: &TemplateStore) -> (HeapCons<Delivery>, HeapProd<Delivery>) {
        let (inbox_in, inbox_out) = HeapRb::new(4).split();
        let (trash_in, trash_out) = HeapRb::new(4).split();
        *lock(&store.outbox) = Some((inbox_in, trash_out));
        (inbox_out, trash_in)
    }

    /// Sizes the capture for `engine` and gives it the stored templates. Off the audio thread.
    pub fn activate(&mut self, engine: &mut Engine, sample_rate: f32, nmf: bool) {
        // Fresh queues: whatever was in flight was for the previous analysis.
        (self.inbox, self.trash) = Self::connect(&self.store);
        let capture = prepare(&self.store, engine, nmf);
        drop(self.retune(engine, sample_rate, capture));
    }

    /// Follows a new engine, taking the capture ring [`prepare`] made for it and
    /// handing back the one it replaces (to drop off the audio thread). Does not
    /// allocate: the audio thread calls it when an engine is switched while running.
    pub fn retune(
        &mut self,
        engine: &Engine,
        sample_rate: f32,
        capture: Option<HeapProd<f32>>,
    ) -> Option<HeapProd<f32>> {
        let fft_size = engine.fft_size();
        let (bins, hop) = (fft_size / 2 + 1, engine.hop());
        let frames_per_second = sample_rate / hop as f32;
        self.stride = ((frames_per_second * MAX_LEARN_SECONDS) / MAX_LEARN_FRAMES as f32)
            .ceil()
            .max(1.0) as usize;
        self.frame_seconds = self.stride as f32 / frames_per_second;
        (self.bins, self.sample_rate, self.fft_size) = (bins, sample_rate, fft_size);
        self.listening = false;
        if self.store.status() != Status::Learning {
            self.store.set_status(Status::Idle);
        }
        self.store.fft_size.store(fft_size, Ordering::Release);
        self.store.sample_rate.store(sample_rate, Ordering::Release);
        std::mem::replace(&mut self.capture, capture)
    }

    pub fn receive(&mut self, engine: &mut Engine) {
        while self.trash.vacant_len() > 0 {
            let Some(delivery) = self.inbox.try_pop() else {
                return;
            };
            let replaced = match delivery {
                Delivery::Templates(t) => match engine.set_templates(t) {
                    Ok(old) => old,
                    Err(refused) => Some(refused),
                },
                Delivery::Forget => engine.take_templates(),
            };
            if let Some(old) = replaced {
                // Vacancy was checked above: this never drops on the audio thread.
                let _ = self.trash.try_push(Delivery::Templates(old));
            }
        }
    }

    /// Follows the Learn switch once per block; returns the job to run when a capture
    /// has just finished, to learn `components` templates.
    pub fn block(&mut self, learn: bool, components: usize) -> Option<Task> {
        let rising = learn && !self.was_on;
        let falling = !learn && self.was_on;
        self.was_on = learn;
        if rising && self.capture.is_some() && self.store.status() != Status::Learning {
            if let Some(ring) = &self.capture {
                // The background end emptied it; anything left is from a refused capture.
                debug_assert!(ring.occupied_len() == 0 || self.store.status() == Status::Failed);
            }
            self.listening = true;
            self.frames = 0;
            self.skipped = 0;
            self.store.heard.store(0.0, Ordering::Relaxed);
            self.store.set_status(Status::Listening);
        }
        let full = self.frames >= MAX_LEARN_FRAMES;
        if self.listening && (falling || full) {
            return self.finish(components);
        }
        None
    }

    fn finish(&mut self, components: usize) -> Option<Task> {
        self.listening = false;
        let seconds = self.frames as f32 * self.frame_seconds;
        if seconds < MIN_LEARN_SECONDS {
            self.store.set_status(Status::Failed);
            return None;
        }
        self.store.set_status(Status::Learning);
        Some(Task::Learn(LearnJob {
            frames: self.frames,
            bins: self.bins,
            sample_rate: self.sample_rate,
            fft_size: self.fft_size,
            components,
            seconds,
        }))
    }
}

impl FrameObserver for Learner {
    fn wants_frames(&self) -> bool {
        self.listening && self.frames < MAX_LEARN_FRAMES
    }

    fn frame(&mut self, view: &FrameView<'_>) {
        if !self.wants_frames() {
            return;
        }
        self.skipped += 1;
        if self.skipped < self.stride {
            return;
        }
        self.skipped = 0;
        if let Some(ring) = &mut self.capture
            && ring.vacant_len() >= self.bins
        {
            ring.push_slice(&view.magnitude[..self.bins]);
            self.frames += 1;
            self.store
                .heard
                .store(self.frames as f32 * self.frame_seconds, Ordering::Relaxed);
        }
    }
}
