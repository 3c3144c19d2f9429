//! Pattern-count sketches and the Markov chain along the SNPs that they determine.
//!
//! **The sketch** ([`PatternSketch::build`], the data owner's side): at each SNP j, each
//! haplotype's allele at j with the longest context before it (at most `order` SNPs) that at
//! least `min_count` of the group's haplotypes share, as a pattern, with counts: a pattern is
//! (context, allele), and its count is how many haplotypes have that as their longest shared
//! context and carry that allele. Every context in the sketch is shared by at least `min_count`
//! haplotypes; a haplotype's rarer (longer) contexts never appear. Its continuations are
//! counted exactly, so the chain below sees, for every context it uses, the same counts as the
//! exact histogram: the sketch with min-count C gives the same chain as the exact counts with
//! the chain's min-count C. (Suppressing (context, allele) patterns instead biased the chain
//! toward common continuations: allele frequencies off by 0.10 on average on the 1000 Genomes
//! EAS group with min-count 4.) With `min_count` 1 it is the exact histogram of the
//! (order + 1)-SNP patterns.
//!
//! **The chain** ([`sample`], the generator): each allele drawn given the alleles drawn before it,
//! at the frequency with which the sketched haplotypes that share that context continue it,
//! smoothed toward shorter contexts (interpolated, a Dirichlet prior of weight `pseudocount`
//! toward the next-shorter context): p_0(1) = the allele frequency; for each longer context c_o
//! (the o alleles just before j) matched by at least `min_count` haplotypes and by fewer than the
//! one before, p_o(1 | c_o) = (n(c_o, 1) + a p_shorter) / (n(c_o) + a). A longer context
//! matched by the same haplotypes carries no new data; counting it again would push the chain
//! toward copying. It reads the sketch only, never the haplotypes.
//!
//! Patterns are bit strings: bit 0 is the allele at j, bit t the allele at j - t; a pattern of
//! `length` bits covers SNPs j - length + 1 ..= j (so at most [`MAX_ORDER`] + 1 = 128 bits).

pub mod info;

use std::path::Path;

use artifact::rng::{derive_seed, SeededRng};
use artifact::ArtifactError;
use rayon::prelude::*;

/// The longest context a pattern can hold (patterns are u128).
pub const MAX_ORDER: usize = 127;
/// Defaults of gmmn-sketch --features patterns and of the chain.
pub const DEFAULT_ORDER: usize = 100;
pub const DEFAULT_MIN_COUNT: usize = 5;
pub const DEFAULT_MIN_FRACTION: f64 = 0.0;
pub const DEFAULT_PSEUDOCOUNT: f64 = 1.0;
/// Columns of the pattern table in `sketch.npy` and `model.safetensors`.
pub const COLUMNS: [&str; 5] = ["snp", "length", "count", "bits_low", "bits_high"];
/// The tensor holding the pattern table in a chain model.
pub const PATTERN_TENSOR: &str = "patterns";

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("{0}")]
    Usage(String),
}

/// One pattern ending at a SNP: `length` alleles (bit 0 the SNP's own, the others its context),
/// carried by `count` haplotypes whose longest context shared by `min_count` this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pattern {
    pub length: u8,
    pub bits: u128,
    pub count: u32,
}

/// The patterns of every SNP, grouped by SNP (`offsets[j]..offsets[j + 1]`), each SNP's sorted
/// by (length, bits).
#[derive(Debug, Clone, PartialEq)]
pub struct PatternSketch {
    pub snps: usize,
    pub haplotypes: usize,
    pub order: usize,
    pub min_count: usize,
    pub offsets: Vec<usize>,
    pub patterns: Vec<Pattern>,
}

/// What a stored pattern table must hold, from its manifest: the reader checks the table
/// against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableShape {
    pub snps: usize,
    pub haplotypes: usize,
    pub order: usize,
    pub min_count: usize,
    /// Rows the manifest records.
    pub patterns: usize,
}

/// The number of bits of a pattern ending at SNP j.
fn window_bits(j: usize, order: usize) -> u32 {
    (j.min(order) + 1) as u32
}

fn mask(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// Minimum over each window of `width` consecutive values (monotone deque: O(n), where the
/// naive O(n x width) is too slow for min-counts of a few percent of a large group).
fn sliding_min(values: &[u32], width: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(values.len() + 1 - width.min(values.len() + 1));
    let mut deque = std::collections::VecDeque::new();
    for (i, &v) in values.iter().enumerate() {
        while deque.back().is_some_and(|&b: &usize| values[b] >= v) {
            deque.pop_back();
        }
        deque.push_back(i);
        if deque[0] + width <= i {
            deque.pop_front();
        }
        if i + 1 >= width {
            out.push(values[deque[0]]);
        }
    }
    out
}

/// Maximum over each window of `width` consecutive values.
fn sliding_max(values: &[u32], width: usize) -> Vec<u32> {
    let flipped: Vec<u32> = values.iter().map(|&v| u32::MAX - v).collect();
    sliding_min(&flipped, width)
        .into_iter()
        .map(|v| u32::MAX - v)
        .collect()
}

impl PatternSketch {
    /// Sketch `n` haplotypes of `m` SNPs (row-major 0/1 `values`).
    ///
    /// At each SNP the haplotypes are sorted by their context read from the SNP backwards (as
    /// the positional Burrows-Wheeler transform orders them), so the haplotypes sharing a
    /// context are contiguous and the longest context shared by `min_count` haplotypes is the
    /// best minimum of neighbour match lengths over the runs of `min_count` that hold the
    /// haplotype. Cost O(n log n + order) per SNP.
    pub fn build(
        values: &[u8],
        n: usize,
        m: usize,
        order: usize,
        min_count: usize,
    ) -> Result<PatternSketch, ChainError> {
        if order == 0 || order > MAX_ORDER {
            return Err(ChainError::Usage(format!(
                "--order {order}: the context is 1 to {MAX_ORDER} SNPs"
            )));
        }
        if min_count == 0 {
            return Err(ChainError::Usage("--min-count must be at least 1".into()));
        }
        if n < min_count {
            return Err(ChainError::Usage(format!(
                "--min-count {min_count} is more than the group's {n} haplotypes"
            )));
        }
        assert_eq!(values.len(), n * m, "values are n x m");
        let mut current = vec![0u128; n];
        let mut order_of: Vec<usize> = (0..n).collect();
        let mut offsets = Vec::with_capacity(m + 1);
        let mut patterns = Vec::new();
        offsets.push(0);
        let mut keys: Vec<(u8, u128)> = Vec::with_capacity(n);
        for j in 0..m {
            let bits = window_bits(j, order);
            let keep = mask(bits);
            for (i, p) in current.iter_mut().enumerate() {
                *p = ((*p << 1) | values[i * m + j] as u128) & keep;
            }
            // Contexts lexicographic from the SNP backwards. The previous order is nearly sorted.
            order_of.sort_by_key(|&i| (current[i] >> 1).reverse_bits());
            let context_bits = bits - 1;
            // longest[r]: the context length of sorted haplotype r (the empty context is shared
            // by all n >= min_count).
            let longest: Vec<u32> = if min_count == 1 {
                vec![context_bits; n]
            } else {
                let adjacent: Vec<u32> = order_of
                    .windows(2)
                    .map(|w| {
                        ((current[w[0]] ^ current[w[1]]) >> 1)
                            .trailing_zeros()
                            .min(context_bits)
                    })
                    .collect();
                // run_min[s]: the longest context shared by sorted haplotypes s ..= s + c - 1.
                let run_min = sliding_min(&adjacent, min_count - 1);
                // Sorted haplotype r lies in runs s = r + 1 - c ..= r (those that exist).
                let mut padded = vec![0u32; min_count - 1];
                padded.extend_from_slice(&run_min);
                padded.extend(std::iter::repeat_n(0, min_count - 1));
                sliding_max(&padded, min_count)
            };
            keys.clear();
            for (r, &i) in order_of.iter().enumerate() {
                let l = longest[r] + 1;
                keys.push((l as u8, current[i] & mask(l)));
            }
            keys.sort_unstable();
            for run in keys.chunk_by(|a, b| a == b) {
                patterns.push(Pattern {
                    length: run[0].0,
                    bits: run[0].1,
                    count: run.len() as u32,
                });
            }
            offsets.push(patterns.len());
        }
        Ok(PatternSketch {
            snps: m,
            haplotypes: n,
            order,
            min_count,
            offsets,
            patterns,
        })
    }

    /// The patterns ending at SNP j.
    pub fn at(&self, j: usize) -> &[Pattern] {
        &self.patterns[self.offsets[j]..self.offsets[j + 1]]
    }

    /// The table as rows of [`COLUMNS`] (snp, length, count, low and high 64 bits).
    pub fn table(&self) -> Vec<u64> {
        let mut rows = Vec::with_capacity(self.patterns.len() * COLUMNS.len());
        for j in 0..self.snps {
            for p in self.at(j) {
                rows.extend([
                    j as u64,
                    p.length as u64,
                    p.count as u64,
                    p.bits as u64,
                    (p.bits >> 64) as u64,
                ]);
            }
        }
        rows
    }

    /// Rebuild from a table of [`COLUMNS`] rows, checking everything the chain relies on
    /// (`path` names the file in errors).
    pub fn from_table(
        path: &Path,
        rows: &[u64],
        shape: &TableShape,
    ) -> Result<PatternSketch, ArtifactError> {
        let TableShape {
            snps,
            haplotypes,
            order,
            min_count,
            patterns: expected,
        } = *shape;
        let bad = |message: String| ArtifactError::layout(path, message);
        if order == 0 || order > MAX_ORDER || min_count == 0 {
            return Err(bad(format!(
                "order {order} and min_count {min_count}: the order is 1 to {MAX_ORDER}, the \
                 min-count at least 1"
            )));
        }
        if rows.len() % COLUMNS.len() != 0 {
            return Err(bad(format!(
                "the table is not {} columns wide",
                COLUMNS.len()
            )));
        }
        if rows.len() / COLUMNS.len() != expected {
            return Err(bad(format!(
                "{} patterns but the manifest says {expected}",
                rows.len() / COLUMNS.len()
            )));
        }
        let mut offsets = vec![0usize];
        let mut patterns = Vec::with_capacity(rows.len() / COLUMNS.len());
        let mut counted = 0u64;
        for (r, row) in rows.chunks_exact(COLUMNS.len()).enumerate() {
            let [snp, length, count, low, high] = [row[0], row[1], row[2], row[3], row[4]];
            let snp = snp as usize;
            if snp >= snps || snp + 1 < offsets.len() {
                return Err(bad(format!(
                    "row {r}: SNP {snp} (rows are by SNP in order, SNPs 0 to {})",
                    snps - 1
                )));
            }
            while offsets.len() <= snp {
                offsets.push(patterns.len());
                counted = 0;
            }
            let bits_max = window_bits(snp, order) as u64;
            let bits = (low as u128) | ((high as u128) << 64);
            if length == 0 || length > bits_max || bits & !mask(length as u32) != 0 {
                return Err(bad(format!(
                    "row {r}: a pattern of length {length} at SNP {snp} (1 to {bits_max} bits, \
                     no bit above its length)"
                )));
            }
            if count == 0 || count > u32::MAX as u64 {
                return Err(bad(format!("row {r}: count {count}")));
            }
            counted += count;
            if counted > haplotypes as u64 {
                return Err(bad(format!(
                    "SNP {snp}: the counts sum past the {haplotypes} haplotypes sketched"
                )));
            }
            let p = Pattern {
                length: length as u8,
                bits,
                count: count as u32,
            };
            if patterns.len() > offsets[snp] {
                let last: &Pattern = &patterns[patterns.len() - 1];
                if (last.length, last.bits) >= (p.length, p.bits) {
                    return Err(bad(format!(
                        "row {r}: SNP {snp}'s patterns are not sorted by (length, bits) and unique"
                    )));
                }
            }
            patterns.push(p);
        }
        while offsets.len() <= snps {
            offsets.push(patterns.len());
        }
        Ok(PatternSketch {
            snps,
            haplotypes,
            order,
            min_count,
            offsets,
            patterns,
        })
    }

    /// Write the table as a little-endian u64 `.npy` of P rows x [`COLUMNS`].
    pub fn write_npy<W: std::io::Write>(&self, w: W) -> Result<(), ArtifactError> {
        use ndarray_npy::WriteNpyExt;
        let array =
            ndarray::Array2::from_shape_vec((self.patterns.len(), COLUMNS.len()), self.table())
                .expect("rows x columns");
        array.write_npy(w).map_err(|e| ArtifactError::Invalid {
            message: format!("writing the pattern table .npy: {e}"),
        })
    }

    /// Read a table written by [`PatternSketch::write_npy`].
    pub fn read_npy(path: &Path, shape: &TableShape) -> Result<PatternSketch, ArtifactError> {
        use ndarray_npy::ReadNpyExt;
        let file = std::fs::File::open(path).map_err(|e| ArtifactError::io(path, e))?;
        let array =
            ndarray::Array2::<u64>::read_npy(std::io::BufReader::new(file)).map_err(|e| {
                ArtifactError::layout(path, format!("not a 2-d u64 .npy pattern table: {e}"))
            })?;
        if array.ncols() != COLUMNS.len() {
            return Err(ArtifactError::layout(
                path,
                format!(
                    "{} columns; a pattern table has {}",
                    array.ncols(),
                    COLUMNS.len()
                ),
            ));
        }
        let rows: Vec<u64> = array.as_standard_layout().iter().copied().collect();
        Self::from_table(path, &rows, shape)
    }

    /// The table as safetensors bytes (one u64 tensor, [`PATTERN_TENSOR`], P x 5).
    pub fn safetensors_bytes(&self) -> Result<Vec<u8>, ArtifactError> {
        let table = self.table();
        let bytes: Vec<u8> = table.iter().flat_map(|v| v.to_le_bytes()).collect();
        let view = safetensors::tensor::TensorView::new(
            safetensors::Dtype::U64,
            vec![self.patterns.len(), COLUMNS.len()],
            &bytes,
        )
        .map_err(|e| ArtifactError::Invalid {
            message: format!("pattern tensor: {e:?}"),
        })?;
        safetensors::tensor::serialize([(PATTERN_TENSOR, view)], &None).map_err(|e| {
            ArtifactError::Invalid {
                message: format!("safetensors: {e:?}"),
            }
        })
    }

    /// Read the table from a safetensors file written by [`PatternSketch::safetensors_bytes`].
    pub fn read_safetensors(
        path: &Path,
        shape: &TableShape,
    ) -> Result<PatternSketch, ArtifactError> {
        let bytes = std::fs::read(path).map_err(|e| ArtifactError::io(path, e))?;
        let tensors = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| ArtifactError::layout(path, format!("not a safetensors file: {e:?}")))?;
        let view = tensors
            .tensor(PATTERN_TENSOR)
            .map_err(|_| ArtifactError::layout(path, format!("no `{PATTERN_TENSOR}` tensor")))?;
        if view.dtype() != safetensors::Dtype::U64
            || view.shape().len() != 2
            || view.shape()[1] != COLUMNS.len()
        {
            return Err(ArtifactError::layout(
                path,
                format!(
                    "`{PATTERN_TENSOR}` is {:?} {:?}; a pattern table is U64 [P, {}]",
                    view.dtype(),
                    view.shape(),
                    COLUMNS.len()
                ),
            ));
        }
        let rows: Vec<u64> = view
            .data()
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        Self::from_table(path, &rows, shape)
    }
}

/// The chain's settings at sampling time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainOptions {
    /// Contexts matched by fewer sketched haplotypes are not used.
    pub min_count: usize,
    /// Weight of the shorter context's estimate at each longer one.
    pub pseudocount: f64,
}

/// Draw `n_out` haplotypes from the chain of `sketch`. Haplotype h uses the random stream
/// `derive_seed(seed, h)`, so the draw is the same on any number of threads.
/// A large output is drawn block by block with [`ChainSampler::sample_range`] instead.
pub fn sample(sketch: &PatternSketch, n_out: usize, opts: &ChainOptions, seed: u64) -> Vec<u8> {
    ChainSampler::new(sketch, opts).sample_range(0, n_out, seed)
}

/// One node of a SNP's context trie: the patterns whose context (read backwards from the SNP)
/// starts with the `depth` bits of `prefix` and is at least that long.
#[derive(Debug, Clone, Copy)]
struct Node {
    prefix: u128,
    depth: u32,
    /// Sketched haplotypes under the node (total) and how many of them carry ALT at the SNP.
    count: u64,
    /// Children by the next context bit; 0 = none (the root, index 0, is nobody's child).
    child: [u32; 2],
    /// The chain's ALT probability for a history that ends here.
    p: f64,
}

/// The chain of a pattern sketch, ready to draw from: per SNP a path-compressed binary trie of
/// the patterns' contexts, each node holding the probability the smoothed walk reaches there.
///
/// Why a trie and not a scan of the SNP's patterns: drawing a haplotype used to visit every
/// pattern at every SNP and then walk the context lengths one by one (about 500 operations per
/// SNP on the 5k chr22 data, 80 patterns per SNP; 1.1 ms per haplotype). The walk's answer only
/// depends on where the history leaves the trie, and the counts are constant along a compressed
/// edge, so the probability is computed once per node and a draw follows a handful of branch
/// nodes. The draws are the same bytes as the scan's (the same floating-point operations in the
/// same order; the scan is kept in the tests as the reference).
pub struct ChainSampler {
    snps: usize,
    order: usize,
    min_count: u64,
    tries: Vec<Vec<Node>>,
}

impl ChainSampler {
    pub fn new(sketch: &PatternSketch, opts: &ChainOptions) -> ChainSampler {
        let tries = (0..sketch.snps)
            .into_par_iter()
            .map(|j| build_trie(sketch.at(j), opts.pseudocount))
            .collect();
        ChainSampler {
            snps: sketch.snps,
            order: sketch.order,
            min_count: opts.min_count.max(1) as u64,
            tries,
        }
    }

    /// Haplotypes `first..first + count` (row-major 0/1) of the draw [`sample`] makes,
    /// haplotype h from stream `derive_seed(seed, h)`.
    ///
    /// Drawn SNP by SNP over chunks of haplotypes, each with its own stream and history: one
    /// SNP's trie serves the whole chunk while it is in cache. Haplotype by haplotype, every
    /// SNP's trie (40 MB on the 5k data) was fetched again for each haplotype, and drawing was
    /// memory-bound. Each haplotype still takes its draws in SNP order, so the bytes are the same.
    pub fn sample_range(&self, first: usize, count: usize, seed: u64) -> Vec<u8> {
        const CHUNK: usize = 256;
        let m = self.snps;
        let keep = mask(self.order as u32);
        let mut values = vec![0u8; count * m];
        values
            .par_chunks_mut(m * CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                let rows = chunk.len() / m;
                let h0 = first + c * CHUNK;
                let mut rngs: Vec<SeededRng> = (0..rows)
                    .map(|r| SeededRng::new(derive_seed(seed, (h0 + r) as u64)))
                    .collect();
                // Bit t - 1: the allele drawn at j - t.
                let mut history = vec![0u128; rows];
                for j in 0..m {
                    for (r, (rng, h)) in rngs.iter_mut().zip(history.iter_mut()).enumerate() {
                        let x = (rng.next_f64() < self.probability(j, *h)) as u8;
                        chunk[r * m + j] = x;
                        *h = ((*h << 1) | x as u128) & keep;
                    }
                }
            });
        values
    }

    /// P(ALT at SNP j | the alleles before it, `history`).
    fn probability(&self, j: usize, history: u128) -> f64 {
        let nodes = &self.tries[j];
        let mut k = 0usize;
        loop {
            let n = &nodes[k];
            let c = n.child[((history >> n.depth) & 1) as usize] as usize;
            if c == 0 {
                break;
            }
            let child = &nodes[c];
            if child.count < self.min_count {
                break;
            }
            k = c;
            // Diverging inside the edge: the counts along it are the child's, beyond it none.
            if (history ^ child.prefix) & mask(child.depth) != 0 {
                break;
            }
        }
        nodes[k].p
    }
}

/// A pattern as the trie sees it: its context bits, their number, ALT or not, its count.
#[derive(Debug, Clone, Copy)]
struct Item {
    context: u128,
    own: u32,
    alt: bool,
    count: u64,
}

fn build_trie(patterns: &[Pattern], pseudocount: f64) -> Vec<Node> {
    let mut items: Vec<Item> = patterns
        .iter()
        .map(|p| Item {
            context: p.bits >> 1,
            own: p.length as u32 - 1,
            alt: p.bits & 1 == 1,
            count: p.count as u64,
        })
        .collect();
    let (total, ones) = sums(&items);
    let p = if total == 0 {
        0.0
    } else {
        ones as f64 / total as f64
    };
    let mut nodes = vec![Node {
        prefix: 0,
        depth: 0,
        count: total,
        child: [0, 0],
        p,
    }];
    attach_children(&mut nodes, 0, &mut items, pseudocount);
    nodes
}

fn sums(items: &[Item]) -> (u64, u64) {
    items.iter().fold((0, 0), |(t, o), i| {
        (t + i.count, o + if i.alt { i.count } else { 0 })
    })
}

/// The children of node `k` (depth d) from `items` (the node's patterns): those longer than d,
/// split by context bit d, each compressed down to where its set of patterns next changes.
fn attach_children(nodes: &mut Vec<Node>, k: usize, items: &mut [Item], a: f64) {
    let d = nodes[k].depth;
    // Longer patterns first, then by bit d: [ended | bit 0 | bit 1].
    let key = |i: &Item| {
        if i.own <= d {
            0u8
        } else {
            1 + ((i.context >> d) & 1) as u8
        }
    };
    items.sort_unstable_by_key(key);
    let ended = items.iter().take_while(|i| key(i) == 0).count();
    let zeros = items[ended..].iter().take_while(|i| key(i) == 1).count();
    let (zero, one) = items[ended..].split_at_mut(zeros);
    for (bit, part) in [(0usize, zero), (1, one)] {
        if part.is_empty() {
            continue;
        }
        // The set stays the same down to the first depth where one pattern ends or two differ.
        let min_own = part.iter().map(|i| i.own).min().expect("non-empty");
        let first = part[0].context;
        let differ = part
            .iter()
            .map(|i| ((i.context ^ first) & mask(min_own)).trailing_zeros())
            .min()
            .expect("non-empty");
        let depth = min_own.min(differ);
        let (count, ones) = sums(part);
        let parent = nodes[k];
        let p = if count == parent.count {
            parent.p
        } else {
            (ones as f64 + a * parent.p) / (count as f64 + a)
        };
        let c = nodes.len();
        nodes.push(Node {
            prefix: first & mask(depth),
            depth,
            count,
            child: [0, 0],
            p,
        });
        nodes[k].child[bit] = c as u32;
        attach_children(nodes, c, part, a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan the trie replaced, kept as the reference the trie must agree with byte for byte.
    fn scan_sample_range(
        sketch: &PatternSketch,
        first: usize,
        count: usize,
        opts: &ChainOptions,
        seed: u64,
    ) -> Vec<u8> {
        let (m, order) = (sketch.snps, sketch.order);
        let min_count = opts.min_count.max(1) as u64;
        let a = opts.pseudocount;
        let mut values = vec![0u8; count * m];
        values.par_chunks_mut(m).enumerate().for_each(|(r, row)| {
            let h = first + r;
            let mut rng = SeededRng::new(derive_seed(seed, h as u64));
            // Bit t - 1: the allele drawn at j - t.
            let mut history = 0u128;
            let mut total = vec![0u64; order + 2];
            let mut ones = vec![0u64; order + 2];
            for (j, x) in row.iter_mut().enumerate() {
                let context_bits = window_bits(j, order) as usize - 1;
                total[..=context_bits + 1].iter_mut().for_each(|c| *c = 0);
                ones[..=context_bits + 1].iter_mut().for_each(|c| *c = 0);
                // total[o]: haplotypes whose pattern matches exactly the last o alleles drawn.
                for p in sketch.at(j) {
                    let context = p.bits >> 1;
                    let own = p.length as usize - 1;
                    let matched = ((context ^ history).trailing_zeros() as usize).min(own);
                    total[matched] += p.count as u64;
                    ones[matched] += (p.bits & 1) as u64 * p.count as u64;
                }
                for o in (0..=context_bits).rev() {
                    total[o] += total[o + 1];
                    ones[o] += ones[o + 1];
                }
                let mut p = if total[0] == 0 {
                    0.0
                } else {
                    ones[0] as f64 / total[0] as f64
                };
                let mut previous = total[0];
                for o in 1..=context_bits {
                    let (n_o, n1) = (total[o], ones[o]);
                    if n_o < min_count {
                        break;
                    }
                    if n_o == previous {
                        continue;
                    }
                    p = (n1 as f64 + a * p) / (n_o as f64 + a);
                    previous = n_o;
                }
                *x = (rng.next_f64() < p) as u8;
                history = ((history << 1) | *x as u128) & mask(order as u32);
            }
        });
        values
    }

    fn random(n: usize, m: usize, seed: u64) -> Vec<u8> {
        let mut rng = SeededRng::new(seed);
        // Blocks of 8 SNPs copied from one of four founders, so patterns repeat.
        let founders: Vec<Vec<u8>> = (0..4)
            .map(|_| (0..m).map(|_| (rng.next_f64() < 0.4) as u8).collect())
            .collect();
        let mut out = Vec::with_capacity(n * m);
        for _ in 0..n {
            let mut f = 0;
            for j in 0..m {
                if j % 8 == 0 {
                    f = (rng.next_f64() * 4.0) as usize;
                }
                let flip = rng.next_f64() < 0.03;
                out.push(founders[f][j] ^ flip as u8);
            }
        }
        out
    }

    /// Brute force: how many haplotypes carry the `length` alleles of `bits` ending at j.
    fn carriers(values: &[u8], n: usize, m: usize, j: usize, length: u8, bits: u128) -> usize {
        (0..n)
            .filter(|&i| {
                (0..length as usize).all(|t| values[i * m + j - t] as u128 == (bits >> t) & 1)
            })
            .count()
    }

    #[test]
    fn every_context_is_shared_by_min_count_and_counts_each_haplotype_once() {
        let (n, m) = (60, 50);
        let values = random(n, m, 3);
        for (order, c) in [(5, 1), (12, 3), (40, 7)] {
            let s = PatternSketch::build(&values, n, m, order, c).unwrap();
            for j in 0..m {
                let mut counted = 0;
                for p in s.at(j) {
                    assert!(p.length as u32 <= window_bits(j, order));
                    // The context alone (the pattern without its bit 0) at j - 1.
                    let k = if p.length == 1 {
                        n
                    } else {
                        carriers(&values, n, m, j - 1, p.length - 1, p.bits >> 1)
                    };
                    assert!(k >= c, "{j} {p:?} context shared by {k}");
                    assert!(carriers(&values, n, m, j, p.length, p.bits) >= p.count as usize);
                    counted += p.count as usize;
                }
                assert_eq!(counted, n, "SNP {j}");
            }
            if c == 1 {
                // Exact histogram: one pattern per distinct full-length window.
                let j = m - 1;
                assert!(s.at(j).iter().all(|p| p.length as usize == order + 1));
            }
        }
    }

    #[test]
    fn the_chain_of_a_min_count_sketch_is_the_exact_chain_with_that_min_count() {
        // Every context the chain uses is shared by min-count haplotypes, and the sketch counts
        // all of its continuations: the same draws, byte for byte.
        let (n, m) = (80, 200);
        let values = random(n, m, 7);
        let exact = PatternSketch::build(&values, n, m, 60, 1).unwrap();
        for c in [2, 5, 11] {
            let opts = ChainOptions {
                min_count: c,
                pseudocount: 1.0,
            };
            let sketched = PatternSketch::build(&values, n, m, 60, c).unwrap();
            assert!(sketched.patterns.len() < exact.patterns.len());
            assert_eq!(
                sample(&sketched, 50, &opts, 3),
                sample(&exact, 50, &opts, 3),
                "{c}"
            );
        }
        // Drawn by blocks, the same rows.
        let opts = ChainOptions {
            min_count: 2,
            pseudocount: 1.0,
        };
        let whole = sample(&exact, 50, &opts, 3);
        let sampler = ChainSampler::new(&exact, &opts);
        let mut blocks = sampler.sample_range(0, 17, 3);
        blocks.extend(sampler.sample_range(17, 33, 3));
        assert_eq!(blocks, whole);
    }

    #[test]
    fn the_trie_draws_the_same_bytes_as_the_scan_of_every_pattern() {
        let (n, m) = (90, 160);
        let values = random(n, m, 11);
        for (order, c) in [(1, 1), (7, 1), (40, 3), (127, 2), (100, 9)] {
            let sketch = PatternSketch::build(&values, n, m, order, c).unwrap();
            for (min_count, pseudocount) in [(1, 1.0), (c, 0.0), (c + 4, 0.3), (50, 2.0)] {
                let opts = ChainOptions {
                    min_count,
                    pseudocount,
                };
                assert_eq!(
                    ChainSampler::new(&sketch, &opts).sample_range(5, 40, 9),
                    scan_sample_range(&sketch, 5, 40, &opts, 9),
                    "order {order}, sketch min-count {c}, min-count {min_count}, a {pseudocount}"
                );
            }
        }
    }

    #[test]
    fn a_haplotype_sits_under_its_longest_shared_context() {
        // SNP 3 after the contexts 111 (three haplotypes, two continue 1, one 0), 011 (one,
        // continues 1) and 000 (three, continue 0). With min-count 3: the 111 haplotypes keep
        // their 3-SNP context, both continuations counted; the 011 one falls back to 11
        // (shared by four); the 000 ones keep theirs.
        let rows = [
            [1, 1, 1, 1],
            [1, 1, 1, 1],
            [1, 1, 1, 0],
            [0, 1, 1, 1],
            [0, 0, 0, 0],
            [0, 0, 0, 0],
            [0, 0, 0, 0],
        ];
        let values: Vec<u8> = rows.iter().flatten().copied().collect();
        let s = PatternSketch::build(&values, 7, 4, 3, 3).unwrap();
        let at3: Vec<(u8, u128, u32)> = s
            .at(3)
            .iter()
            .map(|p| (p.length, p.bits, p.count))
            .collect();
        assert_eq!(
            at3,
            vec![
                (3, 0b111, 1),
                (4, 0b0000, 3),
                (4, 0b1110, 1),
                (4, 0b1111, 2)
            ]
        );
    }

    #[test]
    fn tables_round_trip_and_damage_is_named() {
        let (n, m) = (40, 30);
        let s = PatternSketch::build(&random(n, m, 1), n, m, 70, 2).unwrap();
        let path = Path::new("x.npy");
        let shape = TableShape {
            snps: m,
            haplotypes: n,
            order: 70,
            min_count: 2,
            patterns: s.patterns.len(),
        };
        let back = PatternSketch::from_table(path, &s.table(), &shape).unwrap();
        assert_eq!(back, s);
        let mut buf = Vec::new();
        s.write_npy(&mut buf).unwrap();
        let dir = std::env::temp_dir().join(format!("chain-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let npy = dir.join("sketch.npy");
        std::fs::write(&npy, &buf).unwrap();
        assert_eq!(PatternSketch::read_npy(&npy, &shape).unwrap(), s);
        let st = dir.join("model.safetensors");
        std::fs::write(&st, s.safetensors_bytes().unwrap()).unwrap();
        assert_eq!(PatternSketch::read_safetensors(&st, &shape).unwrap(), s);
        std::fs::remove_dir_all(&dir).unwrap();

        let mut t = s.table();
        t[1] = 99; // a length longer than the window at SNP 0
        let e = PatternSketch::from_table(path, &t, &shape)
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.npy") && e.contains("length 99"), "{e}");
        let mut t = s.table();
        t[2] = n as u64 + 1;
        let e = PatternSketch::from_table(path, &t, &shape)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sum past"), "{e}");
        let few_snps = TableShape { snps: 3, ..shape };
        let e = PatternSketch::from_table(path, &s.table(), &few_snps)
            .unwrap_err()
            .to_string();
        assert!(e.contains("SNP"), "{e}");
        let more = TableShape {
            patterns: shape.patterns + 1,
            ..shape
        };
        let e = PatternSketch::from_table(path, &s.table(), &more)
            .unwrap_err()
            .to_string();
        assert!(e.contains("the manifest says"), "{e}");
    }

    #[test]
    fn bad_settings_are_refused() {
        let v = random(10, 5, 1);
        for (order, c, what) in [
            (0, 1, "--order"),
            (128, 1, "--order"),
            (4, 0, "--min-count"),
            (4, 11, "more than the group's 10"),
        ] {
            let e = PatternSketch::build(&v, 10, 5, order, c)
                .unwrap_err()
                .to_string();
            assert!(e.contains(what), "{e}");
        }
    }

    #[test]
    fn unsmoothed_chain_follows_the_sketched_continuations() {
        // Two patterns, 0101... and 1010..., in equal numbers: every sampled haplotype is one
        // of the two.
        let (n, m) = (10, 12);
        let values: Vec<u8> = (0..n)
            .flat_map(|i| (0..m).map(move |j| ((i + j) % 2) as u8))
            .collect();
        let s = PatternSketch::build(&values, n, m, 3, 2).unwrap();
        let opts = ChainOptions {
            min_count: 2,
            pseudocount: 0.0,
        };
        let out = sample(&s, 200, &opts, 5);
        let mut first = [0usize; 2];
        for row in out.chunks_exact(m) {
            first[row[0] as usize] += 1;
            assert!(row.windows(2).all(|w| w[0] != w[1]), "{row:?}");
        }
        assert!(first[0] > 60 && first[1] > 60, "{first:?}");
        assert_eq!(out, sample(&s, 200, &opts, 5));
        assert_ne!(out, sample(&s, 200, &opts, 6));
    }
}
