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

    /// Does a share of the work that the next `push` would otherwise do at once:
    /// `arrived` of the `hop` samples until the next frame are in. The engine calls it
    /// after every block that ends between two frames, so a separator can spread a
    /// frame's work over the blocks of a hop; the result must not depend on how the
    /// hop was cut into blocks (`push` finishes whatever is left).
    fn work(&mut self, _arrived: usize, _hop: usize) {}

    /// Forgets all history, as if the stream started again with silence before it.
    fn reset(&mut self);
}
