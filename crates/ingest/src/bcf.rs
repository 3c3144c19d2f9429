//! BCF input: noodles-bcf decodes each record and noodles-vcf writes it back as a VCF data line,
//! which then takes the same path as a line of a VCF file (the same SNP filters, GT checks and
//! error messages). Why not decode GT from BCF directly: one code path for both formats keeps
//! their results identical by construction (a test compares them on the shipped data). The price
//! is speed: the re-encoding makes a BCF slower to ingest than its VCF (`bench/ingest.sh` prints
//! both side by side; 1.35 s against 0.13 s, 10x, on the shipped 5k data), so decoding BCF's typed GT arrays directly
//! is the way to make it faster. Records are located by their number in the file.

use std::io::BufRead;
use std::path::Path;

use indicatif::ProgressBar;
use noodles_bcf as bcf;
use noodles_vcf as vcf;
use vcf::variant::io::Write as _;

use crate::input::Compression;
use crate::{
    check_header_text, select_samples, trim_newline, IngestError, IngestOptions, Ingested, Origin,
    RecordState, RegionFilter,
};

type Stream = Box<dyn BufRead + Send>;

/// A BCF reader positioned after the header, the header and its sample names; a header without
/// samples is refused (a sites-only file holds no haplotypes).
fn open(
    path: &Path,
    stream: Stream,
) -> Result<(bcf::io::Reader<Stream>, vcf::Header, Vec<String>), IngestError> {
    let mut reader = bcf::io::Reader::from(stream);
    let header = reader
        .read_header()
        .map_err(|e| IngestError::at(path, None, format!("invalid BCF header: {e}")))?;
    let samples: Vec<String> = header.sample_names().iter().cloned().collect();
    if samples.is_empty() {
        return Err(IngestError::at(
            path,
            None,
            "no samples in the BCF header: a sites-only file holds no haplotypes",
        ));
    }
    Ok((reader, header, samples))
}

/// The sample names of a BCF header (the stream positioned at the start).
pub(crate) fn sample_names(path: &Path, stream: Stream) -> Result<Vec<String>, IngestError> {
    open(path, stream).map(|(_, _, samples)| samples)
}

/// One pass over a BCF file (its decompressed stream, positioned at the start).
pub(crate) fn read_bcf(
    path: &Path,
    stream: Stream,
    compression: Compression,
    region: Option<&RegionFilter>,
    opts: &IngestOptions,
    progress: &ProgressBar,
) -> Result<Ingested, IngestError> {
    let (mut reader, header, header_samples) = open(path, stream)?;
    // The header as VCF text, for the checks a VCF header gets (the #CHROM line, duplicate
    // sample names).
    let mut raw = Vec::new();
    vcf::io::Writer::new(&mut raw)
        .write_header(&header)
        .map_err(|e| IngestError::at(path, None, format!("invalid BCF header: {e}")))?;
    check_header_text(path, &String::from_utf8_lossy(&raw))?;
    let selected = select_samples(path, &header_samples, opts.samples_file.as_deref())?;
    let mut state = RecordState::new(path, &header_samples, selected, opts);
    state.load_list()?;

    let mut record = bcf::Record::default();
    let mut line = Vec::with_capacity(1 << 16);
    let mut number = 0u64;
    loop {
        let n = reader.read_record(&mut record).map_err(|e| {
            IngestError::at(
                path,
                None,
                format!("record {}: cannot decode it: {e}", number + 1),
            )
        })?;
        if n == 0 {
            break;
        }
        number += 1;
        line.clear();
        vcf::io::Writer::new(&mut line)
            .write_variant_record(&header, &record)
            .map_err(|e| {
                IngestError::at(
                    path,
                    None,
                    format!("record {number}: cannot read it as VCF: {e}"),
                )
            })?;
        trim_newline(&mut line);
        if !state.take(&line, Origin::Record(number), region, progress)? {
            break;
        }
    }
    progress.set_position(state.records);
    state.finish(compression, None)
}
