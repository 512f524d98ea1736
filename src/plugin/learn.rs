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

use std::sync::atomic::Ordering;

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::Task;
use crate::engine::{Engine, FrameObserver, FrameView};
use crate::templates::{Delivery, lock};
pub use crate::templates::{
    LearnJob, MAX_LEARN_FRAMES, MAX_LEARN_SECONDS, MIN_LEARN_SECONDS, SharedTemplates, Status,
    StoredTemplates, TemplateStore,
};

/// Gets `engine` ready for Learn, off the audio thread: gives it the stored templates
/// and, for NMF, makes the capture ring (its background end goes to the store). The
/// producer end is for [`Learner::retune`]. The ring is handed to the store only while
/// `still_wanted()` holds, checked under the store's lock: a build that an activation has
/// overtaken must not replace the ring the activated engine captures into.
pub fn prepare(
    store: &TemplateStore,
    engine: &mut Engine,
    nmf: bool,
    still_wanted: &dyn Fn() -> bool,
) -> Option<HeapProd<f32>> {
    let (fft_size, sample_rate) = (engine.fft_size(), engine.sample_rate());
    if let Some(stored) = lock(&store.stored)
        .as_ref()
        .and_then(StoredTemplates::templates)
    {
        let _ = engine.set_templates(Box::new(stored.for_analysis(sample_rate, fft_size)));
    }
    let ring = nmf.then(|| HeapRb::new(MAX_LEARN_FRAMES * (fft_size / 2 + 1)).split());
    let mut capture = lock(&store.capture);
    if !still_wanted() {
        return None;
    }
    match ring {
        Some((producer, consumer)) => {
            *capture = Some(consumer);
            Some(producer)
        }
        None => {
            *capture = None;
            None
        }
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
        let capture = prepare(&self.store, engine, nmf, &|| true);
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
