//! The interface between the streaming STFT and the algorithms: the [`Separator`]
//! trait every algorithm implements, and the [`Entry`] by which it joins the registry
//! (`engine/registry.rs`), as a resampler joins rubato.

use super::geometry::Geometry;
use super::settings::{Algorithm, PeriodSource, Settings};
use super::taught::Templates;

/// A per-frame separator: it sees one magnitude frame per hop and returns the
/// masks of the frame [`Separator::lookahead`] hops back. It owns its history.
///
/// Masks lie in `[0, 1]` and sum to at most 1 in each bin; the algorithm's
/// complementary stem ([`Stems::complement`], the background for most) takes the
/// rest, so the stems always sum to the input.
pub trait Separator: Send {
    /// How many hops the masks trail the newest frame; the engine delays the
    /// complex frames by as much, and the latency grows by `lookahead * hop`.
    fn lookahead(&self) -> usize;

    /// Takes the newest magnitude frame (channels linked: the root of the summed
    /// power) and writes the masks of the frame `lookahead()` hops back, one per stem
    /// but the complementary one; a stem the settings leave silent is left untouched.
    fn push(&mut self, magnitude: &[f32], masks: &mut Masks);

    /// Does a share of the work that the next `push` would otherwise do at once:
    /// `arrived` of the `hop` samples until the next frame are in. The engine calls it
    /// after every block that ends between two frames, so a separator can spread a
    /// frame's work over the blocks of a hop; the result must not depend on how the
    /// hop was cut into blocks (`push` finishes whatever is left).
    fn work(&mut self, _arrived: usize, _hop: usize) {}

    /// Forgets all history, as if the stream started again with silence before it.
    fn reset(&mut self);

    /// Takes new settings that the settings table does not mark as needing a new
    /// engine (`Spec::rebuilds`), on the audio thread: without allocating.
    fn update(&mut self, _settings: &Settings) {}

    /// The host's tempo and time signature, every block (`None` when it sends none).
    fn set_tempo(&mut self, _tempo: Option<Tempo>) {}

    /// What the editor can show of the separator's state.
    fn inspect(&self) -> Inspection<'_> {
        Inspection::default()
    }

    /// Taught templates, already on this analysis's bins; hands back the ones they
    /// replace, or the templates themselves when the separator takes none. Does not
    /// allocate (the caller drops what comes back off the audio thread).
    fn set_templates(
        &mut self,
        templates: Box<Templates>,
    ) -> Result<Option<Box<Templates>>, Box<Templates>> {
        Err(templates)
    }

    /// Takes the taught templates out, for the caller to drop off the audio thread.
    fn take_templates(&mut self) -> Option<Box<Templates>> {
        None
    }

    /// Splits off the part of each frame's work that depends on the input alone, as a
    /// separator of its own for a caller to run over the same frames on another thread
    /// (the command line; see [`super::Engine::split_off`]). From then on this one takes
    /// that part's results from it, frame by frame, and its masks are the same to the
    /// bit; the masks of the part split off are not meant to be heard. `None` (the
    /// default) where no part is worth a thread. For a stream whose settings stay as
    /// they are.
    fn split_off(&mut self) -> Option<Box<dyn Separator>> {
        None
    }
}

/// The host's musical time, for [`PeriodSource::HostTempo`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tempo {
    pub bpm: f64,
    pub beats_per_bar: f64,
}

/// What a separator shows the editor; each part is there when the separator has it.
#[derive(Default)]
pub struct Inspection<'a> {
    /// The repeating period in use, in seconds, and where it comes from.
    pub period: Option<(f32, PeriodSource)>,
    /// The beat spectrum (one value per lag step) and the lag step in seconds.
    pub beat_spectrum: Option<(&'a [f32], f32)>,
    /// The taught templates.
    pub templates: Option<&'a Templates>,
}

/// The most stems an algorithm has (Stems: drums, bass, other, lead).
pub const MAX_STEMS: usize = 4;

/// A mask per stem, `bins` long each, indexed by the stem's place in output order.
/// The complementary stem's mask is not read: the engine makes that stem the rest.
pub struct Masks {
    masks: [Vec<f32>; MAX_STEMS],
}

impl Masks {
    pub fn new(bins: usize) -> Self {
        let mut masks = Self {
            masks: std::array::from_fn(|_| vec![0.0; bins]),
        };
        for mask in &mut masks.masks {
            super::buffers::prefault(mask);
        }
        masks
    }

    pub fn get(&self, stem: usize) -> &[f32] {
        &self.masks[stem]
    }

    pub fn get_mut(&mut self, stem: usize) -> &mut [f32] {
        &mut self.masks[stem]
    }

    /// The two masks of a two- or three-stem algorithm: its foreground (first in output
    /// order) and residual (third); the background (second) is the rest.
    pub fn foreground_and_residual(&mut self) -> (&mut [f32], &mut [f32]) {
        let [foreground, _, residual, _] = &mut self.masks;
        (foreground, residual)
    }

    /// Every mask, in output order.
    pub fn all_mut(&mut self) -> &mut [Vec<f32>; MAX_STEMS] {
        &mut self.masks
    }

    /// Takes `other`'s values (of the same bins). Does not allocate.
    pub fn copy_from(&mut self, other: &Masks) {
        for (mask, from) in self.masks.iter_mut().zip(&other.masks) {
            mask.copy_from_slice(from);
        }
    }
}

/// The names of an algorithm's stems, in output order: one table for file names,
/// ports, meters and the editor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stems {
    /// In file names (`NAME.<stem>.wav`) and on the command line. Every stem the
    /// algorithm can have; some settings leave the last silent (HPSS's residual).
    pub files: &'static [&'static str],
    /// What the editor, the meters and the ports call them.
    pub labels: &'static [&'static str],
    /// The stem that is the rest (the delayed input minus the others), so that the
    /// stems always sum to the input; it costs no inverse FFT.
    pub complement: usize,
    /// Which side of the Balance each stem is on.
    pub sides: &'static [Side],
    /// What the Balance turns towards: its background end, then its foreground end.
    pub balance: [&'static str; 2],
}

/// A stem's side of the Balance: it fades as the Balance turns to the other side, or
/// (neither, HPSS's residual) as it turns to either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Foreground,
    Background,
    Neither,
}

impl Stems {
    /// A lead over an accompaniment: the repeating family and NMF.
    pub const LEAD_AND_BACKGROUND: Stems = Stems {
        files: &["foreground", "background", "residual"],
        labels: &["Lead", "Repeating", "Residual"],
        complement: 1,
        sides: &[Side::Foreground, Side::Background, Side::Neither],
        balance: ["Repeating", "Lead"],
    };
}

/// An algorithm as the registry knows it: how to build its separator and what it
/// costs, without building one.
#[derive(Clone, Copy)]
pub struct Entry {
    pub algorithm: Algorithm,
    /// Stable: saved states and automation hold it.
    pub id: &'static str,
    /// Shown to users and accepted by `--algorithm` (case-insensitive).
    pub name: &'static str,
    pub stems: Stems,
    /// Allocates everything the separator needs (called off the audio thread).
    pub build: fn(&Settings, &Geometry) -> Box<dyn Separator>,
    /// The lookahead, in hops, that `build` would give.
    pub lookahead: fn(&Settings, &Geometry) -> usize,
}
