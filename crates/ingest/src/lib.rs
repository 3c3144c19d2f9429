//! `gmmn-ingest`: VCF (plain, gzip, bgzip) or BCF -> genotype Parquet + variants Parquet.
//!
//! The VCF is streamed once. Kept SNPs are held bit-packed, SNP-major (1 bit per allele: 63 MB
//! for 100,000 SNPs x 5,008 haplotypes) and transposed to haplotype rows 256 at a time while
//! the Parquet file is written, so the byte matrix never exists whole in memory.

mod bcf;
mod gt;
mod input;
mod record;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

use artifact::{
    write_variants_parquet, ArtifactError, ArtifactKind, FileRef, GenotypeParquetWriter,
    HaplotypeLabel, Manifest, OutputSet, Producer, Variant, VariantTable,
};
use indicatif::ProgressBar;
use noodles_vcf as vcf;

pub use gt::{parse_gt, Gt, GtError};
pub use input::{sample_names, Compression};
use record::RawRecord;

pub const GENOTYPES_FILE: &str = "genotypes.parquet";
pub use artifact::VARIANTS_FILE;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {}{message}", location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default())]
    At {
        path: PathBuf,
        location: Option<String>,
        message: String,
    },
    #[error("{0}")]
    Options(String),
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
}

impl IngestError {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        IngestError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn at(path: &Path, line: Option<u64>, message: impl Into<String>) -> Self {
        IngestError::At {
            path: path.to_path_buf(),
            location: line.map(|l| format!("line {l}")),
            message: message.into(),
        }
    }

    fn at_loc(path: &Path, location: &Location, message: impl Into<String>) -> Self {
        IngestError::At {
            path: path.to_path_buf(),
            location: Some(location.to_string()),
            message: message.into(),
        }
    }

    /// An error of the decompressor or of noodles' record reader at `line`.
    pub(crate) fn read(path: &Path, line: u64, e: io::Error) -> Self {
        let message = match e.kind() {
            io::ErrorKind::UnexpectedEof => format!(
                "the file ends in the middle of a record or of a compressed block (truncated?): {e}"
            ),
            _ => e.to_string(),
        };
        IngestError::at(path, Some(line), message)
    }
}

/// Where a record is: its line when a VCF is read from the start, its number in a BCF file,
/// else its site (index query).
enum Location {
    Line(u64),
    Record(u64),
    Site(String, u64),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Line(l) => write!(f, "line {l}"),
            Location::Record(n) => write!(f, "record {n}"),
            Location::Site(c, p) => write!(f, "record at {c}:{p}"),
        }
    }
}

/// How a data record reached [`RecordState::take`]: a VCF line read from the start, a VCF line
/// of an index query, or a BCF record (re-encoded as a VCF line).
#[derive(Debug, Clone, Copy)]
enum Origin {
    Line(u64),
    Region,
    Record(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingPolicy {
    /// A missing allele anywhere is an error naming the record and sample.
    Error,
    /// Drop variants with any missing allele (counted as `missing`).
    DropVariant,
}

impl MissingPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            MissingPolicy::Error => "error",
            MissingPolicy::DropVariant => "drop-variant",
        }
    }
}

#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// `CHR`, `CHR:START-END` or `CHR:START-` (1-based, inclusive).
    pub region: Option<String>,
    /// One sample id per line; only these samples are kept (in VCF order).
    pub samples_file: Option<PathBuf>,
    /// Keep SNPs whose minor allele frequency (over the kept haplotypes) is at least this.
    pub min_maf: f64,
    /// Stop after this many kept SNPs.
    pub max_snps: Option<usize>,
    pub missing: MissingPolicy,
    /// Treat unphased heterozygous calls (`0/1`) as phased in the order written.
    pub allow_unphased: bool,
    /// Decompression worker threads for bgzip input.
    pub threads: usize,
    /// A public SNP list (`--variants`): keep exactly these SNPs, each of which the VCF must
    /// hold, so that the SNP list owes nothing to the cohort (and sites share one list).
    pub variants: Option<PathBuf>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            region: None,
            samples_file: None,
            min_maf: 0.0,
            max_snps: None,
            missing: MissingPolicy::Error,
            allow_unphased: false,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            variants: None,
        }
    }
}

/// Records seen and why each skipped one was skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkipCounts {
    pub multiallelic: u64,
    /// REF or ALT not a single base (indels, symbolic and breakend alleles, `*`).
    pub not_snp: u64,
    /// ALT is `.` (monomorphic reference site).
    pub no_alt: u64,
    /// At least one missing allele (with `--missing drop-variant`).
    pub missing: u64,
    pub below_maf: u64,
    /// Outside `--region` (when the file has no index and is scanned).
    pub outside_region: u64,
    /// Not in the `--variants` list.
    pub not_listed: u64,
}

impl SkipCounts {
    pub fn as_pairs(&self) -> [(&'static str, u64); 7] {
        [
            ("multiallelic", self.multiallelic),
            ("not_snp", self.not_snp),
            ("no_alt", self.no_alt),
            ("missing", self.missing),
            ("below_maf", self.below_maf),
            ("outside_region", self.outside_region),
            ("not_listed", self.not_listed),
        ]
    }

    pub fn total(&self) -> u64 {
        self.as_pairs().iter().map(|(_, n)| n).sum()
    }
}

impl std::fmt::Display for SkipCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .as_pairs()
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Kept SNPs, bit-packed SNP-major: SNP j's haplotype h is bit h%64 of word
/// `j * words_per_snp + h / 64`.
pub struct PackedSnps {
    pub words_per_snp: usize,
    pub words: Vec<u64>,
}

impl PackedSnps {
    pub fn n_snps(&self) -> usize {
        self.words
            .len()
            .checked_div(self.words_per_snp)
            .unwrap_or(0)
    }

    /// Rows `h0..h0+n` as bytes, haplotype-major (n x n_snps). `h0` must be a multiple of 64.
    pub fn haplotype_rows(&self, h0: usize, n: usize) -> Vec<u8> {
        debug_assert_eq!(h0 % 64, 0);
        let m = self.n_snps();
        let mut out = vec![0u8; n * m];
        let w0 = h0 / 64;
        let n_words = n.div_ceil(64);
        for j in 0..m {
            let base = j * self.words_per_snp + w0;
            for w in 0..n_words {
                let mut word = self.words[base + w];
                // Visit only the set bits: genotype matrices are mostly REF.
                while word != 0 {
                    let b = word.trailing_zeros() as usize;
                    let h = w * 64 + b;
                    if h < n {
                        out[h * m + j] = 1;
                    }
                    word &= word - 1;
                }
            }
        }
        out
    }
}

/// What one pass over the VCF produced.
pub struct Ingested {
    pub labels: Vec<HaplotypeLabel>,
    pub n_samples: usize,
    pub variants: Vec<Variant>,
    pub alt_counts: Vec<u64>,
    pub snps: PackedSnps,
    pub records: u64,
    pub skipped: SkipCounts,
    pub stopped_at_max_snps: bool,
    pub compression: Compression,
    /// The index file used for `--region`, if any.
    pub index: Option<PathBuf>,
}

/// `--region` parsed.
struct RegionFilter {
    region: noodles_core::Region,
}

impl RegionFilter {
    fn parse(text: &str) -> Result<Self, IngestError> {
        let region = text.parse::<noodles_core::Region>().map_err(|e| {
            IngestError::Options(format!(
                "--region `{text}`: {e} (expected CHR, CHR:START-END or CHR:START-)"
            ))
        })?;
        Ok(RegionFilter { region })
    }

    fn contains(&self, chrom: &str, pos: noodles_core::Position) -> bool {
        self.region.name() == chrom.as_bytes() && self.region.interval().contains(pos)
    }
}

fn validate(opts: &IngestOptions) -> Result<(), IngestError> {
    if !(0.0..=0.5).contains(&opts.min_maf) {
        return Err(IngestError::Options(format!(
            "--min-maf {} is outside [0, 0.5]",
            opts.min_maf
        )));
    }
    if opts.max_snps == Some(0) {
        return Err(IngestError::Options("--max-snps must be at least 1".into()));
    }
    if opts.variants.is_some() && (opts.min_maf > 0.0 || opts.max_snps.is_some()) {
        return Err(IngestError::Options(
            "--variants with --min-maf or --max-snps: a public SNP list is kept whole; those \
             options would choose SNPs from the cohort's data"
                .into(),
        ));
    }
    Ok(())
}

/// One SNP as `--variants` lists it and as records are matched: chrom, pos, REF, ALT.
type Site = (String, u64, String, String);

/// The `--variants` list: a variants Parquet (as gmmn-ingest writes) or a tab-separated text
/// file of CHROM POS REF ALT per line (`bcftools query -f '%CHROM\t%POS\t%REF\t%ALT\n'`;
/// lines starting with `#` ignored).
pub fn read_snp_list(path: &Path) -> Result<Vec<Site>, IngestError> {
    if path.extension().is_some_and(|e| e == "parquet") {
        let table = artifact::read_variants_parquet(path)?;
        return Ok(table
            .variants
            .into_iter()
            .map(|v| (v.chrom, v.pos, v.reference, v.alternate))
            .collect());
    }
    let text = std::fs::read_to_string(path).map_err(|e| IngestError::io(path, e))?;
    let mut sites = Vec::new();
    let mut seen = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let bad = |m: String| IngestError::at(path, Some(line_no), m);
        if f.len() != 4 {
            return Err(bad(format!(
                "{} tab-separated fields; expected CHROM POS REF ALT",
                f.len()
            )));
        }
        let pos: u64 = f[1]
            .parse()
            .map_err(|_| bad(format!("position `{}` is not a number", f[1])))?;
        let site = (
            f[0].to_string(),
            pos,
            f[2].to_ascii_uppercase(),
            f[3].to_ascii_uppercase(),
        );
        if !seen.insert(site.clone()) {
            return Err(bad(format!(
                "{}:{} {}>{} listed twice",
                f[0], pos, f[2], f[3]
            )));
        }
        sites.push(site);
    }
    if sites.is_empty() {
        return Err(IngestError::at(path, None, "no SNP in the list"));
    }
    Ok(sites)
}

/// Read the `--samples` file: one id per line; blank lines ignored; duplicates are an error.
fn read_samples_file(path: &Path) -> Result<Vec<(String, u64)>, IngestError> {
    let text = std::fs::read_to_string(path).map_err(|e| IngestError::io(path, e))?;
    let mut seen = HashMap::new();
    let mut ids = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        let id = line.trim();
        if id.is_empty() {
            continue;
        }
        if id.contains(char::is_whitespace) {
            return Err(IngestError::at(
                path,
                Some(line_no),
                format!("`{id}`: one sample id per line expected"),
            ));
        }
        if let Some(prev) = seen.insert(id.to_string(), line_no) {
            return Err(IngestError::at(
                path,
                Some(line_no),
                format!("sample `{id}` listed twice (first on line {prev})"),
            ));
        }
        ids.push((id.to_string(), line_no));
    }
    if ids.is_empty() {
        return Err(IngestError::at(path, None, "no sample ids in the file"));
    }
    Ok(ids)
}

/// Check the raw header text for what noodles reports poorly: the #CHROM line and duplicate
/// sample names (with their columns).
fn check_header_text(path: &Path, raw: &str) -> Result<(), IngestError> {
    let mut chrom_line = None;
    for (i, line) in raw.lines().enumerate() {
        if line.starts_with("#CHROM") {
            chrom_line = Some((i as u64 + 1, line));
        }
    }
    let Some((line_no, line)) = chrom_line else {
        return Err(IngestError::at(
            path,
            None,
            "no `#CHROM` header line: not a complete VCF header",
        ));
    };
    let cols: Vec<&str> = line.split('\t').collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (c, name) in cols.iter().enumerate().skip(9) {
        if let Some(prev) = seen.insert(name, c + 1) {
            return Err(IngestError::at(
                path,
                Some(line_no),
                format!(
                    "duplicate sample name `{name}` (columns {prev} and {})",
                    c + 1
                ),
            ));
        }
    }
    Ok(())
}

/// One pass over the VCF: keep biallelic SNPs of the selected samples.
pub fn read_vcf(
    path: &Path,
    opts: &IngestOptions,
    progress: &ProgressBar,
) -> Result<Ingested, IngestError> {
    validate(opts)?;
    let region = opts
        .region
        .as_deref()
        .map(RegionFilter::parse)
        .transpose()?;
    let compression = input::detect(path)?;
    let mut stream = input::open_stream(path, compression, opts.threads)?;
    let format = input::check_vcf_start(path, &mut *stream)?;
    // A BCF is BGZF too: the same truncation warning.
    if compression == Compression::Bgzf && !input::has_bgzf_eof_marker(path)? {
        tracing::warn!(
            "{}: no BGZF end-of-file marker: the file may be truncated",
            path.display()
        );
    }
    if format == input::Format::Bcf {
        return bcf::read_bcf(path, stream, compression, region.as_ref(), opts, progress);
    }

    // Header: noodles parses it; we keep the raw text to count its lines for error messages.
    let mut reader = vcf::io::Reader::new(stream);
    let mut raw = String::new();
    {
        use std::io::Read;
        reader
            .header_reader()
            .read_to_string(&mut raw)
            .map_err(|e| IngestError::read(path, 1, e))?;
    }
    let header_lines = raw.lines().count() as u64;
    check_header_text(path, &raw)?;
    let header: vcf::Header = raw
        .parse()
        .map_err(|e| IngestError::at(path, None, format!("invalid VCF header: {e}")))?;
    let header_samples: Vec<String> = header.sample_names().iter().cloned().collect();
    if header_samples.is_empty() {
        return Err(IngestError::at(
            path,
            Some(header_lines),
            "no sample columns: a sites-only VCF holds no haplotypes",
        ));
    }

    let selected = select_samples(path, &header_samples, opts.samples_file.as_deref())?;
    let mut state = RecordState::new(path, &header_samples, selected, opts);
    state.load_list()?;

    // With a region and an index beside a bgzip file, seek; otherwise scan and filter.
    let index = match (&region, compression) {
        (Some(_), Compression::Bgzf) => find_index(path),
        _ => None,
    };
    let mut line = Vec::with_capacity(1 << 16);
    if let (Some(region), Some(index_path)) = (&region, &index) {
        drop(reader);
        query_region(path, index_path, region, &mut state, &mut line, progress)?;
    } else {
        let mut stream = reader.into_inner();
        let mut line_no = header_lines;
        loop {
            line.clear();
            let n = stream
                .read_until(b'\n', &mut line)
                .map_err(|e| IngestError::read(path, line_no + 1, e))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            trim_newline(&mut line);
            if line.is_empty() {
                continue;
            }
            if !state.take(&line, Origin::Line(line_no), region.as_ref(), progress)? {
                break;
            }
        }
    }
    progress.set_position(state.records);
    state.finish(compression, index)
}

fn trim_newline(line: &mut Vec<u8>) {
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
}

/// Read the records of `region` through the index: seek to each chunk the index names and read
/// lines until the chunk ends (what noodles' own query does, on raw lines).
fn query_region(
    path: &Path,
    index_path: &Path,
    region: &RegionFilter,
    state: &mut RecordState,
    line: &mut Vec<u8>,
    progress: &ProgressBar,
) -> Result<(), IngestError> {
    let index = read_index(index_path)?;
    let names = index.header().map(|h| h.reference_sequence_names());
    let Some(id) = names.and_then(|n| n.get_index_of(region.region.name().as_ref() as &[u8]))
    else {
        // The index lists every contig with records: none here means no record in the region.
        tracing::warn!(
            "{}: `{}` is not a contig of the index {}",
            path.display(),
            region.region.name(),
            index_path.display()
        );
        return Ok(());
    };
    let chunks = index
        .query(id, region.region.interval())
        .map_err(|e| IngestError::at(index_path, None, format!("index query failed: {e}")))?;
    let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let mut reader = noodles_bgzf::io::Reader::new(file);
    for chunk in chunks {
        reader.seek(chunk.start()).map_err(|e| {
            IngestError::at(path, None, format!("seeking to an indexed block: {e}"))
        })?;
        while reader.virtual_position() < chunk.end() {
            line.clear();
            let n = reader.read_until(b'\n', line).map_err(|e| {
                IngestError::at(
                    path,
                    None,
                    format!("after {} records of the region: {e}", state.records),
                )
            })?;
            if n == 0 {
                break;
            }
            trim_newline(line);
            if line.is_empty() {
                continue;
            }
            if !state.take(line, Origin::Region, Some(region), progress)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn select_samples(
    path: &Path,
    header_samples: &[String],
    samples_file: Option<&Path>,
) -> Result<Vec<bool>, IngestError> {
    let Some(file) = samples_file else {
        return Ok(vec![true; header_samples.len()]);
    };
    let wanted = read_samples_file(file)?;
    let position: HashMap<&str, usize> = header_samples
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let mut selected = vec![false; header_samples.len()];
    for (id, line) in &wanted {
        match position.get(id.as_str()) {
            Some(&i) => selected[i] = true,
            None => {
                return Err(IngestError::at(
                    file,
                    Some(*line),
                    format!("sample `{id}` is not in {}", path.display()),
                ))
            }
        }
    }
    Ok(selected)
}

fn find_index(path: &Path) -> Option<PathBuf> {
    ["tbi", "csi"].iter().find_map(|ext| {
        let mut name = path.file_name()?.to_os_string();
        name.push(format!(".{ext}"));
        let p = path.with_file_name(name);
        p.exists().then_some(p)
    })
}

fn read_index(path: &Path) -> Result<Box<dyn noodles_csi::BinningIndex>, IngestError> {
    let is_tbi = path.extension().is_some_and(|e| e == "tbi");
    let res: io::Result<Box<dyn noodles_csi::BinningIndex>> = if is_tbi {
        noodles_tabix::fs::read(path).map(|i| Box::new(i) as _)
    } else {
        noodles_csi::fs::read(path).map(|i| Box::new(i) as _)
    };
    res.map_err(|e| IngestError::at(path, None, format!("unreadable index: {e}")))
}

/// No haplotype index: the sample is not selected.
const NOT_SELECTED: u32 = u32::MAX;

/// The per-record work of [`read_vcf`], with its running state.
struct RecordState<'a> {
    path: &'a Path,
    header_samples: &'a [String],
    selected: Vec<bool>,
    opts: &'a IngestOptions,
    /// Ploidy of each selected sample, fixed by the first SNP record.
    ploidy: Option<Vec<u8>>,
    /// First haplotype of each VCF sample column, or NOT_SELECTED.
    first_hap: Vec<u32>,
    /// Every selected sample is diploid: the fast path applies.
    all_diploid: bool,
    n_haplotypes: usize,
    words_per_snp: usize,
    row: Vec<u64>,
    words: Vec<u64>,
    variants: Vec<Variant>,
    alt_counts: Vec<u64>,
    records: u64,
    skipped: SkipCounts,
    stopped_at_max_snps: bool,
    seen_sites: HashSet<(String, u64, String, String)>,
    /// `--variants`: the listed SNPs (None: every SNP).
    listed: Option<HashSet<Site>>,
}

impl<'a> RecordState<'a> {
    fn new(
        path: &'a Path,
        header_samples: &'a [String],
        selected: Vec<bool>,
        opts: &'a IngestOptions,
    ) -> Self {
        RecordState {
            path,
            header_samples,
            selected,
            opts,
            ploidy: None,
            first_hap: Vec::new(),
            all_diploid: false,
            n_haplotypes: 0,
            words_per_snp: 0,
            row: Vec::new(),
            words: Vec::new(),
            variants: Vec::new(),
            alt_counts: Vec::new(),
            records: 0,
            skipped: SkipCounts::default(),
            stopped_at_max_snps: false,
            seen_sites: HashSet::new(),
            listed: None,
        }
    }

    /// Process one data line; false once `--max-snps` is reached.
    fn take(
        &mut self,
        line: &[u8],
        origin: Origin,
        region: Option<&RegionFilter>,
        progress: &ProgressBar,
    ) -> Result<bool, IngestError> {
        self.records += 1;
        if self.records.is_multiple_of(4096) {
            progress.set_position(self.records);
        }
        let record = record::split_line(line).map_err(|message| {
            let loc = match origin {
                Origin::Line(l) => format!("line {l}"),
                Origin::Record(n) => format!("record {n}"),
                Origin::Region => format!("record {} of the region", self.records),
            };
            IngestError::At {
                path: self.path.to_path_buf(),
                location: Some(loc),
                message,
            }
        })?;
        let loc = match origin {
            Origin::Line(l) => Location::Line(l),
            Origin::Record(n) => Location::Record(n),
            Origin::Region => Location::Site(record.chrom.to_string(), record.pos),
        };

        if let Some(r) = region {
            let inside = noodles_core::Position::try_from(record.pos as usize)
                .is_ok_and(|p| r.contains(record.chrom, p));
            if !inside {
                self.skipped.outside_region += 1;
                return Ok(true);
            }
        }

        let (reference, alt) = (record.reference, record.alternate);
        let is_base = |s: &str| {
            s.len() == 1
                && matches!(
                    s.as_bytes()[0].to_ascii_uppercase(),
                    b'A' | b'C' | b'G' | b'T'
                )
        };
        let skip = if alt == "." || alt.is_empty() {
            Some(&mut self.skipped.no_alt)
        } else if alt.contains(',') {
            Some(&mut self.skipped.multiallelic)
        } else if !is_base(reference) || !is_base(alt) {
            Some(&mut self.skipped.not_snp)
        } else {
            None
        };
        let skip = match (skip, &self.listed) {
            (None, Some(listed))
                if !listed.contains(&(
                    record.chrom.to_string(),
                    record.pos,
                    reference.to_ascii_uppercase(),
                    alt.to_ascii_uppercase(),
                )) =>
            {
                Some(&mut self.skipped.not_listed)
            }
            (skip, _) => skip,
        };
        if let Some(counter) = skip {
            *counter += 1;
            let n = record::count_columns(record.samples);
            if n != self.header_samples.len() {
                return Err(self.column_count_error(n, &loc));
            }
            return Ok(true);
        }

        let missing = self.read_genotypes(&record, &loc)?;
        if missing {
            // read_genotypes errors on a missing allele unless the policy is drop-variant.
            self.skipped.missing += 1;
            return Ok(true);
        }
        let alt_count: u64 = self.row.iter().map(|w| w.count_ones() as u64).sum();
        let n = self.n_haplotypes as u64;
        let maf = alt_count.min(n - alt_count) as f64 / n as f64;
        if maf < self.opts.min_maf {
            self.skipped.below_maf += 1;
            return Ok(true);
        }
        let site = (
            record.chrom.to_string(),
            record.pos,
            reference.to_string(),
            alt.to_string(),
        );
        if !self.seen_sites.insert(site) {
            return Err(IngestError::at_loc(
                self.path,
                &loc,
                format!(
                    "the same SNP ({}:{} {reference}>{alt}) appears twice; deduplicate the VCF (bcftools norm -d exact)",
                    record.chrom, record.pos
                ),
            ));
        }
        self.words.extend_from_slice(&self.row);
        self.alt_counts.push(alt_count);
        self.variants.push(Variant {
            chrom: record.chrom.to_string(),
            pos: record.pos,
            id: if record.id.is_empty() {
                ".".into()
            } else {
                record.id.to_string()
            },
            reference: reference.to_ascii_uppercase(),
            alternate: alt.to_ascii_uppercase(),
        });
        if self.opts.max_snps == Some(self.variants.len()) {
            self.stopped_at_max_snps = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn column_count_error(&self, n: usize, loc: &Location) -> IngestError {
        IngestError::at_loc(
            self.path,
            loc,
            format!(
                "{} columns, the header has {} (9 fixed + {} samples)",
                n + 9,
                self.header_samples.len() + 9,
                self.header_samples.len()
            ),
        )
    }

    /// Fill `self.row` with the record's alleles; true if any allele is missing (and the policy
    /// drops such variants).
    fn read_genotypes(&mut self, record: &RawRecord, loc: &Location) -> Result<bool, IngestError> {
        let Some(format) = record.format else {
            return Err(self.column_count_error(0, loc));
        };
        let Some(gt_index) = format.split(|&b| b == b':').position(|k| k == b"GT") else {
            return Err(IngestError::at_loc(
                self.path,
                loc,
                "no GT field in FORMAT: genotypes are needed",
            ));
        };
        if self.ploidy.is_none() {
            self.init_ploidy(record, gt_index, loc)?;
        }
        self.row.iter_mut().for_each(|w| *w = 0);
        if self.all_diploid && format == b"GT" {
            let (row, first_hap) = (&mut self.row, &self.first_hap);
            let fast = record::phased_biallelic_fast(record.samples, first_hap.len(), |i, a, b| {
                let h = first_hap[i];
                if h != NOT_SELECTED {
                    let h = h as usize;
                    // h is even, so both alleles land in the same word.
                    row[h / 64] |= ((a as u64) | ((b as u64) << 1)) << (h % 64);
                }
            });
            if fast {
                return Ok(false);
            }
            self.row.iter_mut().for_each(|w| *w = 0);
        }
        self.read_genotypes_careful(record, gt_index, loc)
    }

    /// Every GT form: haploid, missing, unphased, multi-field FORMAT; explains what is wrong.
    fn read_genotypes_careful(
        &mut self,
        record: &RawRecord,
        gt_index: usize,
        loc: &Location,
    ) -> Result<bool, IngestError> {
        let ploidy = self.ploidy.as_deref().expect("set by init_ploidy");
        let n_columns = record::count_columns(record.samples);
        if n_columns != self.header_samples.len() {
            return Err(self.column_count_error(n_columns, loc));
        }
        let mut missing = false;
        let mut sel = 0usize;
        for (col, raw) in record.samples.split(|&b| b == b'\t').enumerate() {
            if !self.selected[col] {
                continue;
            }
            let name = &self.header_samples[col];
            let (gt, gt_raw) = self.sample_gt(raw, col, gt_index, loc)?;
            let expected = ploidy[sel];
            let all_missing = gt
                .alleles
                .iter()
                .take(gt.ploidy as usize)
                .all(Option::is_none);
            if gt.ploidy != expected && !all_missing {
                return Err(IngestError::at_loc(
                    self.path,
                    loc,
                    format!(
                        "sample `{name}` has ploidy {} here but {expected} in the first SNP record",
                        gt.ploidy
                    ),
                ));
            }
            if expected == 2
                && !gt.phased
                && gt.alleles[0] != gt.alleles[1]
                && !self.opts.allow_unphased
            {
                return Err(IngestError::at_loc(
                    self.path,
                    loc,
                    format!(
                        "sample `{name}` has the unphased heterozygous genotype `{}`: gmmn-ingest needs phased haplotypes (phase with Beagle/SHAPEIT first, or pass --allow-unphased to take the alleles in the order written)",
                        String::from_utf8_lossy(gt_raw)
                    ),
                ));
            }
            let hap = self.first_hap[col] as usize;
            for a in 0..expected as usize {
                // A lone `.` stands for a wholly missing call of any ploidy.
                let allele = if all_missing { None } else { gt.alleles[a] };
                match allele {
                    None => {
                        if self.opts.missing == MissingPolicy::Error {
                            return Err(IngestError::at_loc(
                                self.path,
                                loc,
                                format!(
                                    "sample `{name}` has a missing allele (`{}`); pass --missing drop-variant to drop such variants",
                                    String::from_utf8_lossy(gt_raw)
                                ),
                            ));
                        }
                        missing = true;
                    }
                    Some(0) => {}
                    Some(1) => {
                        let h = hap + a;
                        self.row[h / 64] |= 1u64 << (h % 64);
                    }
                    Some(k) => {
                        return Err(IngestError::at_loc(
                            self.path,
                            loc,
                            format!("sample `{name}` has allele {k} at a biallelic site"),
                        ))
                    }
                }
            }
            sel += 1;
        }
        Ok(missing)
    }

    /// The GT of sample column `col` (raw text `raw`), parsed, with its raw bytes.
    fn sample_gt<'r>(
        &self,
        raw: &'r [u8],
        col: usize,
        gt_index: usize,
        loc: &Location,
    ) -> Result<(Gt, &'r [u8]), IngestError> {
        let gt_raw = raw.split(|&b| b == b':').nth(gt_index).unwrap_or(b"");
        let gt = parse_gt(gt_raw).map_err(|e| {
            IngestError::at_loc(
                self.path,
                loc,
                format!("sample `{}`: {e}", self.header_samples[col]),
            )
        })?;
        Ok((gt, gt_raw))
    }

    /// Fix each selected sample's ploidy from the first SNP record (a wholly missing `.` counts
    /// as diploid) and lay out the haplotypes.
    fn init_ploidy(
        &mut self,
        record: &RawRecord,
        gt_index: usize,
        loc: &Location,
    ) -> Result<(), IngestError> {
        let n_columns = record::count_columns(record.samples);
        if n_columns != self.header_samples.len() {
            return Err(self.column_count_error(n_columns, loc));
        }
        let mut ploidy = Vec::new();
        let mut first_hap = vec![NOT_SELECTED; self.header_samples.len()];
        let mut hap = 0u32;
        for (col, raw) in record.samples.split(|&b| b == b'\t').enumerate() {
            if !self.selected[col] {
                continue;
            }
            let (gt, _) = self.sample_gt(raw, col, gt_index, loc)?;
            let p = if gt.ploidy == 1 && gt.alleles[0].is_none() {
                2
            } else {
                gt.ploidy
            };
            ploidy.push(p);
            first_hap[col] = hap;
            hap += p as u32;
        }
        self.n_haplotypes = hap as usize;
        self.words_per_snp = self.n_haplotypes.div_ceil(64);
        self.row = vec![0; self.words_per_snp];
        self.all_diploid = ploidy.iter().all(|&p| p == 2);
        self.first_hap = first_hap;
        self.ploidy = Some(ploidy);
        Ok(())
    }

    /// Read `--variants`, if given.
    pub(crate) fn load_list(&mut self) -> Result<(), IngestError> {
        if let Some(list) = &self.opts.variants {
            self.listed = Some(read_snp_list(list)?.into_iter().collect());
        }
        Ok(())
    }

    fn finish(
        self,
        compression: Compression,
        index: Option<PathBuf>,
    ) -> Result<Ingested, IngestError> {
        if let (Some(listed), Some(list)) = (&self.listed, &self.opts.variants) {
            let mut absent: Vec<&Site> = listed.difference(&self.seen_sites).collect();
            if !absent.is_empty() {
                absent.sort();
                let (c, p, r, a) = absent[0];
                return Err(IngestError::at(
                    list,
                    None,
                    format!(
                        "{} of its {} SNPs are not biallelic SNPs of {}{} (first: {c}:{p} {r}>{a}); \
                         every site must hold the whole list",
                        absent.len(),
                        listed.len(),
                        self.path.display(),
                        if self.opts.region.is_some() { " in --region" } else { "" },
                    ),
                ));
            }
        }
        if self.variants.is_empty() {
            return Err(IngestError::at(
                self.path,
                None,
                format!(
                    "no biallelic SNP kept out of {} records (skipped: {})",
                    self.records, self.skipped
                ),
            ));
        }
        let ploidy = self.ploidy.expect("a kept SNP fixed the ploidy");
        let mut labels = Vec::with_capacity(self.n_haplotypes);
        let mut sel = 0;
        for (col, name) in self.header_samples.iter().enumerate() {
            if !self.selected[col] {
                continue;
            }
            for h in 0..ploidy[sel] {
                labels.push(HaplotypeLabel {
                    sample: name.clone(),
                    haplotype: h,
                    group: None,
                });
            }
            sel += 1;
        }
        Ok(Ingested {
            labels,
            n_samples: sel,
            variants: self.variants,
            alt_counts: self.alt_counts,
            snps: PackedSnps {
                words_per_snp: self.words_per_snp,
                words: self.words,
            },
            records: self.records,
            skipped: self.skipped,
            stopped_at_max_snps: self.stopped_at_max_snps,
            compression,
            index,
        })
    }
}

/// What `gmmn-ingest` reports when it is done.
#[derive(Debug, Clone)]
pub struct IngestSummary {
    pub records: u64,
    pub snps: usize,
    pub samples: usize,
    pub haplotypes: usize,
    pub skipped: SkipCounts,
    pub stopped_at_max_snps: bool,
    pub genotypes: PathBuf,
    pub variants: PathBuf,
}

impl std::fmt::Display for IngestSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "kept {} biallelic SNPs x {} haplotypes ({} samples) of {} records; skipped {} ({}){}; wrote {} and {}",
            self.snps,
            self.haplotypes,
            self.samples,
            self.records,
            self.skipped.total(),
            self.skipped,
            if self.stopped_at_max_snps { "; stopped at --max-snps" } else { "" },
            self.genotypes.display(),
            self.variants.display()
        )
    }
}

/// Ingest `input` into `out_dir` (genotypes.parquet, variants.parquet and their manifests).
/// Nothing is written unless the whole VCF was read without error.
pub fn ingest(
    input: &Path,
    out_dir: &Path,
    opts: &IngestOptions,
    progress: &ProgressBar,
) -> Result<IngestSummary, IngestError> {
    // Hash the input on another thread while it is parsed (sha-ni makes this nearly free).
    let hasher = {
        let p = input.to_path_buf();
        std::thread::spawn(move || artifact::sha256_file(&p))
    };
    let data = read_vcf(input, opts, progress)?;
    let input_sha = hasher.join().expect("hashing thread panicked")?;
    write_outputs(&data, input, input_sha, out_dir, opts)
}

fn write_outputs(
    data: &Ingested,
    input: &Path,
    input_sha: String,
    out_dir: &Path,
    opts: &IngestOptions,
) -> Result<IngestSummary, IngestError> {
    std::fs::create_dir_all(out_dir).map_err(|e| IngestError::io(out_dir, e))?;
    let mut inputs = vec![FileRef::new("vcf", input, input_sha, out_dir)?];
    if let Some(index) = &data.index {
        inputs.push(FileRef::hashed("index", index, out_dir)?);
    }
    if let Some(list) = &opts.variants {
        inputs.push(FileRef::hashed("snp_list", list, out_dir)?);
    }
    if let Some(samples) = &opts.samples_file {
        inputs.push(FileRef::hashed("samples", samples, out_dir)?);
    }
    let producer = Producer::new("ingest", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let n_haps = data.labels.len();
    let n_snps = data.variants.len();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    counts.insert("records".into(), data.records);
    counts.insert("snps".into(), n_snps as u64);
    counts.insert("samples".into(), data.n_samples as u64);
    counts.insert("haplotypes".into(), n_haps as u64);
    counts.insert(
        "stopped_at_max_snps".into(),
        data.stopped_at_max_snps as u64,
    );
    for (reason, n) in data.skipped.as_pairs() {
        counts.insert(format!("skipped_{reason}"), n);
    }
    let base = |kind| {
        let mut m = Manifest::new(kind, producer.clone())
            .param("input", input.display().to_string())
            .param("compression", data.compression.as_str())
            .param("region", opts.region.clone())
            .param(
                "samples",
                opts.samples_file.as_ref().map(|p| p.display().to_string()),
            )
            .param("min_maf", opts.min_maf)
            .param("max_snps", opts.max_snps.map(|n| n as u64))
            .param(
                "variants",
                opts.variants.as_ref().map(|p| p.display().to_string()),
            )
            .param("missing", opts.missing.as_str())
            .param("allow_unphased", opts.allow_unphased);
        m.inputs = inputs.clone();
        m.counts = counts.clone();
        m
    };

    let genotypes_path = out_dir.join(GENOTYPES_FILE);
    let variants_path = out_dir.join(VARIANTS_FILE);
    let mut out = OutputSet::new();

    let table = VariantTable::with_counts(data.variants.clone(), &data.alt_counts, n_haps);
    let mut vm = base(ArtifactKind::Variants);
    vm.shape = vec![n_snps as u64];
    let vm = out.stage_artifact(&variants_path, vm, |w| write_variants_parquet(w, &table))?;

    let mut gm = base(ArtifactKind::Genotypes);
    gm.shape = vec![n_haps as u64, n_snps as u64];
    gm.companions = vec![FileRef::new(
        "variants",
        &variants_path,
        vm.sha256.clone(),
        out_dir,
    )?];
    out.stage_artifact(&genotypes_path, gm, |w| {
        let mut writer = GenotypeParquetWriter::new(w, n_snps)?;
        let step = artifact::ROW_GROUP_HAPLOTYPES;
        // Transpose the next block of haplotypes on a second thread while this one encodes and
        // compresses the current one; two blocks in flight bound the memory.
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<u8>)>(1);
            scope.spawn(move || {
                for h0 in (0..n_haps).step_by(step) {
                    let rows = data.snps.haplotype_rows(h0, step.min(n_haps - h0));
                    if tx.send((h0, rows)).is_err() {
                        break; // the writer failed and hung up
                    }
                }
            });
            for (h0, rows) in rx {
                let n = rows.len() / n_snps;
                writer.write_rows(&data.labels[h0..h0 + n], rows)?;
            }
            Ok::<_, ArtifactError>(())
        })?;
        writer.finish()
    })?;
    out.commit()?;

    Ok(IngestSummary {
        records: data.records,
        snps: n_snps,
        samples: data.n_samples,
        haplotypes: n_haps,
        skipped: data.skipped.clone(),
        stopped_at_max_snps: data.stopped_at_max_snps,
        genotypes: genotypes_path,
        variants: variants_path,
    })
}
