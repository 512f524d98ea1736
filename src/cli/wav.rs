//! Writing stems: to a hidden temporary file beside the target, renamed into
//! place only once complete, so a half-written stem never exists.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::CliError;

/// Sample formats the command line writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BitDepth {
    #[value(name = "16")]
    Int16,
    #[value(name = "24")]
    Int24,
    #[value(name = "32")]
    Float32,
}

pub struct StemWriter {
    target: PathBuf,
    temp: PathBuf,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    depth: BitDepth,
}

impl StemWriter {
    pub fn create(
        target: &Path,
        channels: usize,
        sample_rate: u32,
        depth: BitDepth,
    ) -> Result<Self, CliError> {
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("stem.wav");
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let temp = target.with_file_name(format!(".{name}.{}-{unique}.tmp", std::process::id()));
        let (bits_per_sample, sample_format) = match depth {
            BitDepth::Int16 => (16, hound::SampleFormat::Int),
            BitDepth::Int24 => (24, hound::SampleFormat::Int),
            BitDepth::Float32 => (32, hound::SampleFormat::Float),
        };
        let spec = hound::WavSpec {
            channels: channels as u16,
            sample_rate,
            bits_per_sample,
            sample_format,
        };
        let writer = hound::WavWriter::create(&temp, spec).map_err(|e| CliError::Output {
            path: target.parent().unwrap_or(Path::new(".")).to_path_buf(),
            reason: hound_reason(e),
        })?;
        Ok(Self {
            target: target.to_path_buf(),
            temp,
            writer: Some(writer),
            depth,
        })
    }

    /// Appends one interleaved block.
    pub fn write(&mut self, interleaved: &[f32]) -> Result<(), CliError> {
        let writer = self.writer.as_mut().expect("not finished");
        let result = match self.depth {
            BitDepth::Float32 => interleaved.iter().try_for_each(|s| writer.write_sample(*s)),
            BitDepth::Int16 => interleaved.iter().try_for_each(|s| {
                writer.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
            }),
            BitDepth::Int24 => interleaved.iter().try_for_each(|s| {
                writer.write_sample((s.clamp(-1.0, 1.0) * 8_388_607.0).round() as i32)
            }),
        };
        result.map_err(|e| CliError::Output {
            path: self.target.clone(),
            reason: hound_reason(e),
        })
    }

    /// Completes the file and moves it into place.
    pub fn finish(mut self) -> Result<PathBuf, CliError> {
        let writer = self.writer.take().expect("finished once");
        let fail = |reason: String| CliError::Output {
            path: self.target.clone(),
            reason,
        };
        writer.finalize().map_err(|e| fail(hound_reason(e)))?;
        std::fs::rename(&self.temp, &self.target).map_err(|e| fail(e.to_string()))?;
        Ok(self.target.clone())
    }
}

impl Drop for StemWriter {
    fn drop(&mut self) {
        // Not finished: an error stopped us. Leave nothing behind.
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

fn hound_reason(e: hound::Error) -> String {
    match e {
        hound::Error::IoError(io) => match io.kind() {
            std::io::ErrorKind::PermissionDenied => "cannot write there: permission denied".into(),
            std::io::ErrorKind::NotFound => "folder does not exist".into(),
            _ => format!("cannot write: {io}"),
        },
        other => other.to_string(),
    }
}
