//! The engine's second half: each masked frame back to samples, and the stems read out
//! of the overlap-add rings, the complement as the delayed dry input minus the others.
//!
//! It needs only the input samples and, at every hop, the masked frame's spectra and
//! masks, so the command line runs it on a thread of its own, fed by
//! [`Engine::analyse`](super::Engine::analyse); the plugin runs it inside
//! [`Engine::process`](super::Engine::process). Either way each stem sample is the
//! same sum of the same products, so the two give the same bits.

use realfft::num_complex::Complex;

use super::buffers::prefault;
use super::stft::Stft;
use super::{MAX_STEMS, Masks, flush, sanitise};

pub struct Synthesis {
    stft: Stft,
    channels: usize,
    latency: usize,
    max_block: usize,
    complement: usize,
    synthesised: [bool; MAX_STEMS],
    /// Position in the overlap-add rings (`fft_size` long), as the input ring's.
    pos: usize,
    /// Samples since the last frame, for [`Synthesis::process`].
    since_frame: usize,
    /// Overlap-add accumulators, `[stem][channel]` (the complement's are not used).
    ola: Vec<Vec<Vec<f32>>>,
    /// The input delayed by the latency, for the complement.
    dry: Vec<Vec<f32>>,
    dry_pos: usize,
    spectrum: Vec<Complex<f32>>,
    time: Vec<f32>,
    /// Output of the last block: `[stem][channel]`, `max_block` long each.
    out: [Vec<Vec<f32>>; MAX_STEMS],
    out_len: usize,
}

/// One frame as the synthesis needs it: every channel's spectrum, and the masks.
pub struct MaskedFrame {
    pub spectra: Vec<Vec<Complex<f32>>>,
    pub masks: Masks,
}

impl MaskedFrame {
    /// A copy of a frame [`Engine::analyse`](super::Engine::analyse) hands on.
    pub fn copy_of(spectra: &[Vec<Complex<f32>>], at: usize, masks: &Masks) -> Self {
        let bins = masks.get(0).len();
        let mut frame = Self {
            spectra: vec![vec![Complex::default(); bins]; spectra.len()],
            masks: Masks::new(bins),
        };
        frame.copy_from(spectra, at, masks);
        frame
    }

    /// Takes the values of a frame [`Engine::analyse`](super::Engine::analyse) hands
    /// on, in a frame of the same shape. Does not allocate.
    pub fn copy_from(&mut self, spectra: &[Vec<Complex<f32>>], at: usize, masks: &Masks) {
        let bins = masks.get(0).len();
        for (to, from) in self.spectra.iter_mut().zip(spectra) {
            to.copy_from_slice(&from[at * bins..(at + 1) * bins]);
        }
        self.masks.copy_from(masks);
    }
}

impl Synthesis {
    /// Everything allocated here; `stft` and `latency` are the engine's.
    pub(crate) fn new(
        stft: Stft,
        channels: usize,
        latency: usize,
        complement: usize,
        synthesised: [bool; MAX_STEMS],
        max_block: usize,
    ) -> Self {
        let (n, bins) = (stft.size, stft.bins());
        let mut synthesis = Self {
            stft,
            channels,
            latency,
            max_block,
            complement,
            synthesised,
            pos: 0,
            since_frame: 0,
            ola: (0..MAX_STEMS)
                .map(|s| vec![vec![0.0; if synthesised[s] { n } else { 0 }]; channels])
                .collect(),
            dry: vec![vec![0.0; latency]; channels],
            dry_pos: 0,
            spectrum: vec![Complex::default(); bins],
            time: vec![0.0; n],
            out: std::array::from_fn(|_| vec![vec![0.0; max_block]; channels]),
            out_len: 0,
        };
        for buf in synthesis
            .ola
            .iter_mut()
            .flatten()
            .chain(&mut synthesis.dry)
            .chain(synthesis.out.iter_mut().flatten())
        {
            prefault(buf);
        }
        synthesis
    }

    /// A fresh synthesis like this one (silent, at the start of the stream).
    pub(crate) fn fresh(&self) -> Self {
        Self::new(
            self.stft.clone(),
            self.channels,
            self.latency,
            self.complement,
            self.synthesised,
            self.max_block,
        )
    }

    /// One block of the stream on its own: `input` as given to [`Engine::analyse`]
    /// (super::Engine::analyse), and the frames it handed on for that block, in order.
    /// Read the stems with [`Synthesis::stem`].
    pub fn process<'a, S: AsRef<[f32]>>(
        &mut self,
        input: &[S],
        frames: &mut impl Iterator<Item = &'a MaskedFrame>,
    ) {
        let len = input[0].as_ref().len();
        let hop = self.stft.hop;
        let mut done = 0;
        while done < len {
            let run = (hop - self.since_frame).min(len - done);
            self.take(input, done, run);
            done += run;
            self.since_frame += run;
            if self.since_frame == hop {
                self.since_frame = 0;
                let frame = frames
                    .next()
                    .expect("the analysis hands on a frame at every hop");
                self.frame(&frame.spectra, 0, &frame.masks);
            }
        }
        self.end_block(len);
    }

    /// Samples `done..done + run` of `input` (a run that ends at the next frame at the
    /// latest): the stems' samples out of the rings, and the input into the dry line.
    pub(crate) fn take<S: AsRef<[f32]>>(&mut self, input: &[S], done: usize, run: usize) {
        let n = self.stft.size;
        for (c, input) in input.iter().enumerate().take(self.channels) {
            let x = &input.as_ref()[done..done + run];
            let dry = &mut self.dry[c][self.dry_pos..self.dry_pos + run];
            let mut rest = std::mem::take(&mut self.out[self.complement][c]);
            let rest_run = &mut rest[done..done + run];
            for k in 0..run {
                rest_run[k] = std::mem::replace(&mut dry[k], sanitise(x[k]));
            }
            for s in (0..MAX_STEMS).filter(|&s| self.synthesised[s]) {
                let ola = &mut self.ola[s][c][self.pos..self.pos + run];
                let out = &mut self.out[s][c][done..done + run];
                for ((o, a), r) in out.iter_mut().zip(ola).zip(rest_run.iter_mut()) {
                    *o = flush(std::mem::take(a));
                    *r -= *o;
                }
            }
            self.out[self.complement][c] = rest;
        }
        self.pos = (self.pos + run) % n;
        self.dry_pos = (self.dry_pos + run) % self.latency;
    }

    /// The frame just due: `spectra[c][at·bins..]` masked by each synthesised stem's
    /// mask, transformed back and overlap-added from the ring's position on.
    pub(crate) fn frame(&mut self, spectra: &[Vec<Complex<f32>>], at: usize, masks: &Masks) {
        let bins = self.stft.bins();
        for (c, spectra) in spectra.iter().enumerate().take(self.channels) {
            let frame = &spectra[at * bins..(at + 1) * bins];
            for s in (0..MAX_STEMS).filter(|&s| self.synthesised[s]) {
                synthesise(
                    &mut self.stft,
                    frame,
                    masks.get(s),
                    &mut self.spectrum,
                    &mut self.time,
                    &mut self.ola[s][c],
                    self.pos,
                );
            }
        }
    }

    /// The block ended after `len` samples.
    pub(crate) fn end_block(&mut self, len: usize) {
        self.out_len = len;
    }

    /// One channel of one stem from the last block.
    pub fn stem(&self, stem: impl Into<usize>, channel: usize) -> &[f32] {
        &self.out[stem.into()][channel][..self.out_len]
    }

    /// Back to silence. Does not allocate.
    pub(crate) fn reset(&mut self) {
        for buf in self.ola.iter_mut().flatten().chain(&mut self.dry) {
            buf.fill(0.0);
        }
        self.pos = 0;
        self.since_frame = 0;
        self.dry_pos = 0;
    }
}

/// Masks `frame`, transforms it back and overlap-adds it at `pos` onwards.
fn synthesise(
    stft: &mut Stft,
    frame: &[Complex<f32>],
    mask: &[f32],
    spectrum: &mut [Complex<f32>],
    time: &mut [f32],
    ola: &mut [f32],
    pos: usize,
) {
    for ((s, x), m) in spectrum.iter_mut().zip(frame).zip(mask) {
        let masked = x * *m;
        *s = Complex::new(flush(masked.re), flush(masked.im));
    }
    stft.inverse(spectrum, time);
    let n = stft.size;
    let (to_end, from_start) = ola.split_at_mut(pos);
    let (first, second) = time.split_at(n - pos);
    let (w_first, w_second) = stft.synthesis.split_at(n - pos);
    for ((o, t), w) in from_start.iter_mut().zip(first).zip(w_first) {
        *o += t * w;
    }
    for ((o, t), w) in to_end.iter_mut().zip(second).zip(w_second) {
        *o += t * w;
    }
}
