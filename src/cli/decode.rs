//! Reading audio files (WAV, FLAC, MP3, OGG/Vorbis) as a stream of blocks.

use std::fs::File;
use std::path::{Path, PathBuf};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, Decoder as CodecDecoder, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::CliError;

thread_local! {
    /// Set while this thread is inside the decoder library (see [`guarded`]).
    static DECODING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a call into the decoder library and turns a panic into an error message.
/// symphonia 0.5 panics on some malformed files (a WAV header with a sample rate of
/// 0 divides by zero), and a bad file must cost one clear line, not a crash.
fn guarded<T>(call: impl FnOnce() -> T) -> Result<T, String> {
    DECODING.with(|d| d.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call));
    DECODING.with(|d| d.set(false));
    result.map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        format!("the decoder gave up: {what}")
    })
}

/// Keeps panics that [`guarded`] turns into errors off stderr; every other panic
/// is reported as before. The command line installs it once at start.
pub fn quiet_decoder_panics() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !DECODING.with(|d| d.get()) {
            report(info);
        }
    }));
}

/// A decoder that hands out interleaved `f32` samples block by block, so that a
/// long file never has to sit in memory whole.
pub struct AudioReader {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn CodecDecoder>,
    track_id: u32,
    pub sample_rate: u32,
    pub channels: usize,
    /// Frames the header announces, when it does.
    pub frames: Option<u64>,
    decoded: u64,
    buffer: Option<SampleBuffer<f32>>,
}

impl AudioReader {
    pub fn open(path: &Path) -> Result<Self, CliError> {
        let bad = |reason: String| CliError::Input {
            path: path.to_path_buf(),
            reason,
        };
        let file = File::open(path).map_err(|e| bad(io_reason(&e)))?;
        let meta = file.metadata().map_err(|e| bad(io_reason(&e)))?;
        if meta.is_dir() {
            return Err(bad("is a folder, not an audio file".into()));
        }
        if meta.len() == 0 {
            return Err(bad("is empty".into()));
        }
        let stream = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let probed = guarded(|| {
            symphonia::default::get_probe().format(
                &hint,
                stream,
                // Gapless: the encoder delay and padding that MP3 (LAME/Xing header) and Ogg
                // (granule positions) declare are trimmed, so the stems start at the file's
                // first real sample and have its exact length, as DAWs and ffmpeg decode it.
                &FormatOptions {
                    enable_gapless: true,
                    ..FormatOptions::default()
                },
                &MetadataOptions::default(),
            )
        })
        .map_err(|why| bad(format!("not a readable audio file ({why})")))?
        .map_err(|e| {
            bad(format!(
                "not a readable audio file ({})",
                symphonia_reason(&e)
            ))
        })?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| bad("holds no audio track".into()))?;
        let params = track.codec_params.clone();
        let sample_rate = params
            .sample_rate
            .ok_or_else(|| bad("does not say its sample rate".into()))?;
        let channels = params.channels.map(|c| c.count()).unwrap_or(0);
        if channels == 0 {
            return Err(bad("has no channels".into()));
        }
        if channels > crate::engine::MAX_CHANNELS {
            return Err(bad(format!(
                "has {channels} channels; at most {} are supported",
                crate::engine::MAX_CHANNELS
            )));
        }
        if !(8_000..=384_000).contains(&sample_rate) {
            return Err(bad(format!(
                "has a sample rate of {sample_rate} Hz; 8 kHz to 384 kHz are supported"
            )));
        }
        let decoder =
            guarded(|| symphonia::default::get_codecs().make(&params, &DecoderOptions::default()))
                .map_err(|why| bad(format!("uses an unsupported codec ({why})")))?
                .map_err(|e| {
                    bad(format!(
                        "uses an unsupported codec ({})",
                        symphonia_reason(&e)
                    ))
                })?;
        Ok(Self {
            path: path.to_path_buf(),
            track_id: track.id,
            format,
            decoder,
            sample_rate,
            channels,
            frames: params.n_frames,
            decoded: 0,
            buffer: None,
        })
    }

    /// The next block of interleaved samples, or `None` at the end of the file.
    pub fn next_block(&mut self) -> Result<Option<&[f32]>, CliError> {
        loop {
            let next = guarded(|| self.format.next_packet());
            let packet = match next.map_err(|why| self.error(format!("cannot be read ({why})")))? {
                Ok(p) => p,
                Err(SymphoniaError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return self.finish();
                }
                Err(SymphoniaError::ResetRequired) => return self.finish(),
                Err(e) => {
                    return Err(self.error(format!("cannot be read ({})", symphonia_reason(&e))));
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let path = &self.path;
            let decoded =
                guarded(|| self.decoder.decode(&packet)).map_err(|why| CliError::Input {
                    path: path.clone(),
                    reason: format!("cannot be decoded ({why})"),
                })?;
            let decoded = match decoded {
                Ok(d) => d,
                Err(SymphoniaError::DecodeError(why)) => {
                    return Err(
                        self.error(format!("is corrupt after {} frames ({why})", self.decoded))
                    );
                }
                Err(SymphoniaError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return self.finish();
                }
                Err(e) => {
                    return Err(self.error(format!("cannot be decoded ({})", symphonia_reason(&e))));
                }
            };
            if decoded.frames() == 0 {
                continue;
            }
            let spec = *decoded.spec();
            if spec.channels.count() != self.channels {
                return Err(self.error("changes its channel count midway".into()));
            }
            let capacity = decoded.capacity() as u64;
            if self
                .buffer
                .as_ref()
                .is_none_or(|b| (b.capacity() as u64) < capacity)
            {
                self.buffer = Some(SampleBuffer::new(capacity, spec));
            }
            let buffer = self.buffer.as_mut().expect("just made");
            buffer.copy_interleaved_ref(decoded);
            self.decoded += (buffer.samples().len() / self.channels) as u64;
            if let Some(total) = self.frames
                && self.decoded > total
            {
                // Decoders may pad the last packet; keep what the header promises.
                let excess = ((self.decoded - total) as usize) * self.channels;
                self.decoded = total;
                let len = buffer.samples().len() - excess;
                return Ok(Some(&buffer.samples()[..len]));
            }
            return Ok(Some(buffer.samples()));
        }
    }

    fn finish(&mut self) -> Result<Option<&[f32]>, CliError> {
        match self.frames {
            Some(total) if self.decoded < total => Err(self.error(format!(
                "is truncated: its header promises {total} frames but it holds {}",
                self.decoded
            ))),
            _ if self.decoded == 0 => Err(self.error("holds no audio".into())),
            _ => Ok(None),
        }
    }

    fn error(&self, reason: String) -> CliError {
        CliError::Input {
            path: self.path.clone(),
            reason,
        }
    }

    /// Reads the whole file as `[channel][frame]`.
    pub fn read_all(mut self) -> Result<(Vec<Vec<f32>>, u32), CliError> {
        let channels = self.channels;
        let mut out = vec![Vec::new(); channels];
        while let Some(block) = self.next_block()? {
            for frame in block.chunks_exact(channels) {
                for (c, s) in frame.iter().enumerate() {
                    out[c].push(*s);
                }
            }
        }
        Ok((out, self.sample_rate))
    }
}

pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist".into(),
        std::io::ErrorKind::PermissionDenied => "cannot be read: permission denied".into(),
        _ => format!("cannot be read: {e}"),
    }
}

fn symphonia_reason(e: &SymphoniaError) -> String {
    match e {
        SymphoniaError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "ends too early".into()
        }
        SymphoniaError::Unsupported(what) => format!("unsupported: {what}"),
        other => other.to_string(),
    }
}
