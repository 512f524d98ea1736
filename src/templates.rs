//! The taught NMF templates and what the threads share about them: the store the
//! plugin's state persists (the `nmf-templates` field), the background task that learns,
//! and what Learn reports to the editor. The audio thread's side is
//! [`crate::plugin::learn`].

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicUsize, Ordering};

use atomic_float::AtomicF32;
use nice_plug::params::persist::PersistentField;
use ringbuf::traits::{Consumer, Producer};
use ringbuf::{HeapCons, HeapProd};
use serde::{Deserialize, Serialize};

use crate::engine::Templates;
use crate::engine::nmf::Matrix;

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
    pub(crate) fn from_templates(t: &Templates, seconds: f32) -> Self {
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
    pub(crate) frames: usize,
    pub(crate) bins: usize,
    pub(crate) sample_rate: f32,
    pub(crate) fft_size: usize,
    pub(crate) components: usize,
    pub(crate) seconds: f32,
}

/// The taught templates and everything the threads share about them. Persisted
/// with the plugin's state (the `nmf-templates` field).
pub struct TemplateStore {
    pub(crate) stored: Mutex<Option<StoredTemplates>>,
    /// The producer end of the audio thread's inbox and the consumer end of its trash.
    pub(crate) outbox: Mutex<Option<(HeapProd<Delivery>, HeapCons<Delivery>)>>,
    /// The background end of the capture ring.
    pub(crate) capture: Mutex<Option<HeapCons<f32>>>,
    /// The analysis of the running engine (0 when none), to map templates onto.
    pub(crate) fft_size: AtomicUsize,
    pub(crate) sample_rate: AtomicF32,
    pub(crate) status: AtomicU8,
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

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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

    pub(crate) fn set_status(&self, status: Status) {
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
