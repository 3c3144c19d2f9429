//! Opening a VCF whatever its compression, and telling the user early what it is not.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::num::NonZero;
use std::path::Path;

use crate::IngestError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Plain,
    /// Ordinary gzip (one or more members, no BGZF blocks): streamed, no random access.
    Gzip,
    /// Blocked gzip (bgzip): decompressed on worker threads; random access through .tbi/.csi.
    Bgzf,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Plain => "plain",
            Compression::Gzip => "gzip",
            Compression::Bgzf => "bgzf",
        }
    }
}

/// Sniff the compression from the first bytes of the file.
pub fn detect(path: &Path) -> Result<Compression, IngestError> {
    let mut f = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let mut head = [0u8; 18];
    let mut n = 0;
    while n < head.len() {
        let k = f
            .read(&mut head[n..])
            .map_err(|e| IngestError::io(path, e))?;
        if k == 0 {
            break;
        }
        n += k;
    }
    let head = &head[..n];
    if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        // BGZF: gzip with FEXTRA whose first subfield is `BC` (SAM/BAM spec, section 4.1).
        if head.len() >= 14 && head[3] & 0x04 != 0 && head[12] == b'B' && head[13] == b'C' {
            return Ok(Compression::Bgzf);
        }
        return Ok(Compression::Gzip);
    }
    Ok(Compression::Plain)
}

/// The decompressed byte stream of the whole file.
pub fn open_stream(
    path: &Path,
    compression: Compression,
    threads: usize,
) -> Result<Box<dyn BufRead + Send>, IngestError> {
    let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    Ok(match compression {
        Compression::Plain => Box::new(BufReader::with_capacity(1 << 20, file)),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, file)),
        )),
        Compression::Bgzf => {
            let workers = NonZero::new(threads.max(1)).expect("max(1) is non-zero");
            Box::new(noodles_bgzf::io::MultithreadedReader::with_worker_count(
                workers, file,
            ))
        }
    })
}

/// What the decompressed stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Vcf,
    Bcf,
}

/// Tell VCF text from BCF, and refuse anything else before the header parser produces a
/// puzzling message.
pub fn check_vcf_start(path: &Path, stream: &mut dyn BufRead) -> Result<Format, IngestError> {
    let head = stream
        .fill_buf()
        .map_err(|e| IngestError::read(path, 1, e))?;
    if head.is_empty() {
        return Err(IngestError::at(
            path,
            None,
            "the file is empty (no VCF header)",
        ));
    }
    if head.starts_with(b"BCF") {
        return Ok(Format::Bcf);
    }
    if !head.starts_with(b"##fileformat=VCF") {
        let shown: String = head
            .iter()
            .take(40)
            .take_while(|&&b| b != b'\n')
            .map(|&b| match b {
                b'\t' => "<TAB>".to_string(),
                b if b.is_ascii_graphic() || b == b' ' => (b as char).to_string(),
                _ => "?".to_string(),
            })
            .collect();
        return Err(IngestError::at(
            path,
            Some(1),
            format!("not a VCF or BCF file: it must begin with `##fileformat=VCF` (or BCF's magic number), found `{shown}`"),
        ));
    }
    Ok(Format::Vcf)
}

/// BGZF files end with a fixed 28-byte empty block; its absence means the file was cut short.
pub fn has_bgzf_eof_marker(path: &Path) -> Result<bool, IngestError> {
    use std::io::{Seek, SeekFrom};
    const EOF: [u8; 28] = [
        0x1f, 0x8b, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x06, 0x00, 0x42, 0x43, 0x02,
        0x00, 0x1b, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    let mut f = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let len = f.metadata().map_err(|e| IngestError::io(path, e))?.len();
    if len < 28 {
        return Ok(false);
    }
    let mut tail = [0u8; 28];
    f.seek(SeekFrom::End(-28))
        .and_then(|_| f.read_exact(&mut tail))
        .map_err(|e| IngestError::io(path, e))?;
    Ok(tail == EOF)
}

/// The sample ids of a VCF's `#CHROM` line (plain, gzip or bgzip) or a BCF header, read without the records:
/// what a one-group panel is made from when the user has none.
pub fn sample_names(path: &Path) -> Result<Vec<String>, IngestError> {
    let mut stream = open_stream(path, detect(path)?, 1)?;
    if check_vcf_start(path, &mut *stream)? == Format::Bcf {
        return crate::bcf::sample_names(path, stream);
    }
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        number += 1;
        let k = stream
            .read_until(b'\n', &mut line)
            .map_err(|e| IngestError::read(path, number, e))?;
        if k == 0 || !line.starts_with(b"#") {
            return Err(IngestError::at(
                path,
                Some(number),
                "no `#CHROM` header line before the records",
            ));
        }
        if line.starts_with(b"#CHROM") {
            let text = String::from_utf8_lossy(&line);
            let fields: Vec<&str> = text.trim_end_matches(['\n', '\r']).split('\t').collect();
            if fields.len() < 10 || fields[8] != "FORMAT" {
                return Err(IngestError::at(
                    path,
                    Some(number),
                    "the `#CHROM` line names no samples (no FORMAT column and sample columns)",
                ));
            }
            return Ok(fields[9..].iter().map(|s| s.to_string()).collect());
        }
    }
}
