//! The interface between the streaming STFT and the algorithms.

/// A per-frame separator: it sees one magnitude frame per hop and returns the
/// masks of the frame [`Separator::lookahead`] hops back. It owns its history.
///
/// Masks lie in `[0, 1]` and `foreground + residual ≤ 1`; the background takes
/// the rest, so the stems always sum to the input.
pub trait Separator: Send {
    /// How many hops the masks trail the newest frame; the engine delays the
    /// complex frames by as much, and the latency grows by `lookahead * hop`.
    fn lookahead(&self) -> usize;

    /// Takes the newest magnitude frame (channels linked: the root of the summed
    /// power) and writes the masks of the frame `lookahead()` hops back.
    /// `residual` is left untouched when the separator has no residual stem.
    fn push(&mut self, magnitude: &[f32], foreground: &mut [f32], residual: &mut [f32]);

    /// Forgets all history, as if the stream started again with silence before it.
    fn reset(&mut self);
}
