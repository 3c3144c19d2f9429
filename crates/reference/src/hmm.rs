//! A fastPHASE-style haplotype HMM (Scheet and Stephens 2006), fitted by EM and sampled.
//!
//! Hidden state: one of K clusters at each SNP. Between SNP j-1 and j the path jumps with
//! probability r[j] (r[0] = 1: the first cluster is a jump) and a jump lands on cluster k with
//! probability alpha[j][k] (it may land where it was); otherwise the cluster stays. Cluster k
//! emits allele 1 at SNP j with probability theta[j][k], clipped to [clip, 1 - clip].
//!
//! EM is Baum-Welch over the augmented state (cluster, jumped?), with scaled forward-backward.
//! Each M-step maximises the expected complete-data log-likelihood exactly within the boxes
//! (theta in [clip, 1 - clip], r in [R_MIN, R_MAX]): every term is concave in its parameter, so
//! the clamped maximiser is the constrained one and the likelihood never decreases.
//!
//! Cost: O(N M K) per iteration. Haplotypes are processed in fixed chunks of [`CHUNK`], in
//! parallel, and the chunks' statistics are summed in chunk order, so the fit (and the output
//! bytes) do not depend on the number of threads or their timing.

use artifact::rng::{derive_seed, SeededRng};
use rayon::prelude::*;

/// Bounds of the jump probabilities: away from 0 and 1 so that no SNP boundary is locked for
/// good (a jump probability of exactly 0 or 1 is a fixed point of EM).
pub const R_MIN: f64 = 1e-6;
pub const R_MAX: f64 = 1.0 - 1e-6;
/// Initial jump probability between adjacent SNPs (segments of ~20 SNPs; EM moves it quickly).
pub const R_INIT: f64 = 0.05;
/// Haplotypes per unit of parallel work (and of the fixed summation order).
pub const CHUNK: usize = 16;
/// Chunks in flight at once: bounds the memory of the per-chunk statistics (3 M K f64 each).
const BATCH: usize = 16;

#[derive(Debug, Clone, Copy)]
pub struct HmmOptions {
    pub clusters: usize,
    pub iterations: usize,
    /// Emission probabilities are kept in [clip, 1 - clip].
    pub clip: f64,
}

/// The fitted model. Arrays indexed `[j * clusters + k]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hmm {
    pub snps: usize,
    pub clusters: usize,
    pub theta: Vec<f64>,
    /// r[j], the probability of a jump between SNP j-1 and j; r[0] = 1.
    pub jump: Vec<f64>,
    pub alpha: Vec<f64>,
}

/// Expected sufficient statistics of a set of haplotypes.
struct Stats {
    log_likelihood: f64,
    /// sum of P(z_j = k | x) over the haplotypes with allele 0 at j, and with allele 1: one
    /// of the two is written per SNP (half the memory traffic of a numerator and a total).
    post0: Vec<f64>,
    post1: Vec<f64>,
    /// sum of P(jump into k at j | x); at j = 0, P(z_0 = k | x)
    jumps: Vec<f64>,
}

impl Stats {
    fn zeros(len: usize) -> Self {
        Stats {
            log_likelihood: 0.0,
            post0: vec![0.0; len],
            post1: vec![0.0; len],
            jumps: vec![0.0; len],
        }
    }

    fn add(&mut self, o: &Stats) {
        self.log_likelihood += o.log_likelihood;
        for (a, b) in [
            (&mut self.post0, &o.post0),
            (&mut self.post1, &o.post1),
            (&mut self.jumps, &o.jumps),
        ] {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
}

/// Per-haplotype buffers of forward-backward.
struct Workspace {
    /// Scaled forward probabilities, M x K (each SNP's row sums to 1).
    fwd: Vec<f64>,
    /// Scaling factors c_j: P(x_j | x_0..j-1).
    scale: Vec<f64>,
    back: Vec<f64>,
    w: Vec<f64>,
    aw: Vec<f64>,
}

impl Workspace {
    fn new(m: usize, k: usize) -> Self {
        Workspace {
            fwd: vec![0.0; m * k],
            scale: vec![0.0; m],
            back: vec![0.0; k],
            w: vec![0.0; k],
            aw: vec![0.0; k],
        }
    }
}

/// P(x | theta) = e0 + e1 * theta: (0, 1) for allele 1, (1, -1) for allele 0. Branch-free in the
/// inner loops, so that they vectorise.
#[inline]
fn emission_terms(x: u8) -> (f64, f64) {
    if x == 1 {
        (0.0, 1.0)
    } else {
        (1.0, -1.0)
    }
}

/// Sum with four interleaved accumulators (a fixed order, so the same bits on every run; and
/// four independent addition chains instead of one).
#[inline]
fn sum_fixed(v: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let chunks = v.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..4 {
            acc[i] += c[i];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for &x in rest {
        s += x;
    }
    s
}

impl Hmm {
    /// A seeded random start: theta uniform in [clip, 1 - clip], alpha uniform, r = R_INIT.
    pub fn random(snps: usize, clusters: usize, clip: f64, seed: u64) -> Self {
        let mut rng = SeededRng::new(seed);
        let theta = (0..snps * clusters)
            .map(|_| clip + (1.0 - 2.0 * clip) * rng.next_f64())
            .collect();
        let mut jump = vec![R_INIT; snps];
        if let Some(r0) = jump.first_mut() {
            *r0 = 1.0;
        }
        Hmm {
            snps,
            clusters,
            theta,
            jump,
            alpha: vec![1.0 / clusters as f64; snps * clusters],
        }
    }

    /// Scaled forward pass over haplotype `x`; returns its log-likelihood.
    fn forward(&self, x: &[u8], ws: &mut Workspace) -> f64 {
        let k = self.clusters;
        let mut ll = 0.0;
        for j in 0..self.snps {
            let th = &self.theta[j * k..(j + 1) * k];
            let al = &self.alpha[j * k..(j + 1) * k];
            let (prev, cur) = ws.fwd.split_at_mut(j * k);
            let cur = &mut cur[..k];
            let (e0, e1) = emission_terms(x[j]);
            if j == 0 {
                for c in 0..k {
                    cur[c] = (e0 + e1 * th[c]) * al[c];
                }
            } else {
                let prev = &prev[(j - 1) * k..j * k];
                let r = self.jump[j];
                let stay = 1.0 - r;
                // The previous row sums to 1, so the jump term is r * alpha.
                for c in 0..k {
                    cur[c] = (e0 + e1 * th[c]) * (stay * prev[c] + r * al[c]);
                }
            }
            let sum = sum_fixed(cur);
            let inv = 1.0 / sum;
            for v in cur.iter_mut() {
                *v *= inv;
            }
            ws.scale[j] = sum;
            ll += libm::log(sum);
        }
        ll
    }

    /// Forward-backward over `x`, adding its expected statistics to `stats`.
    fn accumulate(&self, x: &[u8], ws: &mut Workspace, stats: &mut Stats) {
        let k = self.clusters;
        stats.log_likelihood += self.forward(x, ws);
        ws.back.fill(1.0);
        for j in (0..self.snps).rev() {
            let f = &ws.fwd[j * k..(j + 1) * k];
            let row = j * k..(j + 1) * k;
            let post = if x[j] == 1 {
                &mut stats.post1[row.clone()]
            } else {
                &mut stats.post0[row.clone()]
            };
            let jumps = &mut stats.jumps[row];
            let back = &mut ws.back[..k];
            for c in 0..k {
                post[c] += f[c] * back[c];
            }
            if j == 0 {
                for c in 0..k {
                    jumps[c] += f[c] * back[c];
                }
                break;
            }
            let th = &self.theta[j * k..(j + 1) * k];
            let al = &self.alpha[j * k..(j + 1) * k];
            let r = self.jump[j];
            let stay = 1.0 - r;
            let inv = 1.0 / ws.scale[j];
            let (e0, e1) = emission_terms(x[j]);
            let w = &mut ws.w[..k];
            let aw = &mut ws.aw[..k];
            for c in 0..k {
                w[c] = (e0 + e1 * th[c]) * back[c];
                aw[c] = al[c] * w[c];
            }
            let s = sum_fixed(aw);
            for c in 0..k {
                jumps[c] += r * aw[c] * inv;
                back[c] = (stay * w[c] + r * s) * inv;
            }
        }
    }

    /// Expected statistics of the `n` rows of `data`, summed in a fixed order.
    fn e_step(&self, data: &[u8], n: usize) -> Stats {
        let (m, k) = (self.snps, self.clusters);
        let n_chunks = n.div_ceil(CHUNK);
        let mut total = Stats::zeros(m * k);
        for first in (0..n_chunks).step_by(BATCH) {
            let parts: Vec<Stats> = (first..(first + BATCH).min(n_chunks))
                .into_par_iter()
                .map(|c| {
                    let mut s = Stats::zeros(m * k);
                    let mut ws = Workspace::new(m, k);
                    for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                        self.accumulate(&data[i * m..(i + 1) * m], &mut ws, &mut s);
                    }
                    s
                })
                .collect();
            for p in &parts {
                total.add(p);
            }
        }
        total
    }

    /// Log-likelihood of the `n` rows of `data` (forward passes only), summed in a fixed order.
    pub fn log_likelihood(&self, data: &[u8], n: usize) -> f64 {
        let (m, k) = (self.snps, self.clusters);
        let parts: Vec<f64> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut ws = Workspace::new(m, k);
                (c * CHUNK..((c + 1) * CHUNK).min(n))
                    .map(|i| self.forward(&data[i * m..(i + 1) * m], &mut ws))
                    .fold(0.0, |a, b| a + b)
            })
            .collect();
        parts.iter().fold(0.0, |a, b| a + b)
    }

    fn m_step(&mut self, s: &Stats, n: usize, clip: f64) {
        let k = self.clusters;
        for ((t, &p0), &p1) in self.theta.iter_mut().zip(&s.post0).zip(&s.post1) {
            let den = p0 + p1;
            // A cluster no haplotype visits leaves its expected log-likelihood flat in theta:
            // keep the old value.
            if den > 0.0 {
                *t = (p1 / den).clamp(clip, 1.0 - clip);
            }
        }
        for j in 0..self.snps {
            let jumps = &s.jumps[j * k..(j + 1) * k];
            let total: f64 = jumps.iter().sum();
            if j > 0 {
                self.jump[j] = (total / n as f64).clamp(R_MIN, R_MAX);
            }
            if total > 0.0 {
                for (a, &x) in self.alpha[j * k..(j + 1) * k].iter_mut().zip(jumps) {
                    *a = x / total;
                }
            }
        }
    }

    /// Fit by `opts.iterations` EM iterations from a random start seeded by `seed` on the `n`
    /// rows of `data` (n x snps, 0/1). Returns the model and the log-likelihood of the data
    /// after 0, 1, ..., iterations iterations (`iterations + 1` values; entry 0 is the random
    /// start's). `on_log_likelihood(t, ll)` is called with entry t as soon as it is known (the
    /// E-step of iteration t + 1 computes entry t; a last forward pass the final one).
    pub fn fit(
        data: &[u8],
        n: usize,
        snps: usize,
        opts: &HmmOptions,
        seed: u64,
        mut on_log_likelihood: impl FnMut(usize, f64),
    ) -> (Hmm, Vec<f64>) {
        let mut hmm = Hmm::random(snps, opts.clusters, opts.clip, seed);
        let mut lls = Vec::with_capacity(opts.iterations + 1);
        for t in 0..opts.iterations {
            let stats = hmm.e_step(data, n);
            lls.push(stats.log_likelihood);
            on_log_likelihood(t, stats.log_likelihood);
            hmm.m_step(&stats, n, opts.clip);
        }
        let last = hmm.log_likelihood(data, n);
        lls.push(last);
        on_log_likelihood(opts.iterations, last);
        (hmm, lls)
    }

    /// `n_out` haplotypes (n_out x snps) drawn from the model; haplotype h has its own stream
    /// `derive_seed(seed, h)`.
    pub fn sample(&self, n_out: usize, seed: u64) -> Vec<u8> {
        let (m, k) = (self.snps, self.clusters);
        let mut values = vec![0u8; n_out * m];
        values.par_chunks_mut(m).enumerate().for_each(|(h, row)| {
            let mut rng = SeededRng::new(derive_seed(seed, h as u64));
            let mut z = 0;
            for (j, x) in row.iter_mut().enumerate() {
                if j == 0 || rng.next_f64() < self.jump[j] {
                    z = draw(&self.alpha[j * k..(j + 1) * k], rng.next_f64());
                }
                *x = (rng.next_f64() < self.theta[j * k + z]) as u8;
            }
        });
        values
    }
}

/// The category of `weights` (summing to 1) that uniform `u` falls in; rounding past the end
/// goes to the last category with weight.
fn draw(weights: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    let mut last = 0;
    for (c, &w) in weights.iter().enumerate() {
        if w > 0.0 {
            acc += w;
            last = c;
            if u < acc {
                return c;
            }
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emission(theta: f64, x: u8) -> f64 {
        let (e0, e1) = emission_terms(x);
        e0 + e1 * theta
    }

    /// Haplotypes with LD: mosaics of 4 founders with a switch probability of 0.05 per SNP and
    /// 1% allele noise.
    fn ld_data(n: usize, m: usize, seed: u64) -> Vec<u8> {
        let mut rng = SeededRng::new(seed);
        let founders: Vec<u8> = (0..4 * m).map(|_| (rng.next_f64() < 0.4) as u8).collect();
        let mut out = Vec::with_capacity(n * m);
        for _ in 0..n {
            let mut f = rng.below(4) as usize;
            for j in 0..m {
                if rng.next_f64() < 0.05 {
                    f = rng.below(4) as usize;
                }
                let noise = rng.next_f64() < 0.01;
                out.push(founders[f * m + j] ^ noise as u8);
            }
        }
        out
    }

    fn opts(clusters: usize, iterations: usize) -> HmmOptions {
        HmmOptions {
            clusters,
            iterations,
            clip: 1e-3,
        }
    }

    #[test]
    fn em_log_likelihood_never_decreases() {
        let (n, m) = (80, 60);
        let data = ld_data(n, m, 1);
        let mut seen = Vec::new();
        let (hmm, lls) = Hmm::fit(&data, n, m, &opts(6, 25), 3, |t, ll| seen.push((t, ll)));
        assert_eq!(lls.len(), 26);
        assert_eq!(seen.len(), 26);
        assert_eq!(seen[25], (25, lls[25]));
        for t in 1..lls.len() {
            assert!(
                lls[t] >= lls[t - 1] - 1e-9 * lls[t - 1].abs(),
                "iteration {t}: {} after {}",
                lls[t],
                lls[t - 1]
            );
        }
        // It learns something: far above the random start, and above independent SNPs at the
        // data's frequencies.
        let af = crate::independent::allele_frequencies(&data, n, m);
        let independent: f64 = (0..n)
            .map(|i| {
                (0..m)
                    .map(|j| libm::log(emission(af[j].clamp(1e-3, 1.0 - 1e-3), data[i * m + j])))
                    .sum::<f64>()
            })
            .sum();
        assert!(
            lls[25] > independent + 0.1 * independent.abs(),
            "{} vs {independent}",
            lls[25]
        );
        assert!(lls[25] > lls[0]);
        // Parameters stay in their boxes.
        assert!(hmm.theta.iter().all(|&t| (1e-3..=1.0 - 1e-3).contains(&t)));
        assert!(hmm.jump[1..].iter().all(|&r| (R_MIN..=R_MAX).contains(&r)));
        for j in 0..m {
            let s: f64 = hmm.alpha[j * 6..(j + 1) * 6].iter().sum();
            assert!((s - 1.0).abs() < 1e-9, "alpha at {j} sums to {s}");
        }
        // The forward-only likelihood agrees with the E-step's.
        let e = hmm.e_step(&data, n).log_likelihood;
        assert!((e - lls[25]).abs() < 1e-9 * e.abs());
    }

    #[test]
    fn forward_backward_matches_brute_force_on_a_tiny_model() {
        // 2 clusters, 3 SNPs: sum over the 8 paths.
        let hmm = Hmm {
            snps: 3,
            clusters: 2,
            theta: vec![0.9, 0.2, 0.3, 0.6, 0.5, 0.05],
            jump: vec![1.0, 0.3, 0.7],
            alpha: vec![0.4, 0.6, 0.5, 0.5, 0.1, 0.9],
        };
        let x = [1u8, 0, 1];
        let trans = |j: usize, from: usize, to: usize| {
            let r = hmm.jump[j];
            (if from == to { 1.0 - r } else { 0.0 }) + r * hmm.alpha[j * 2 + to]
        };
        let mut total = 0.0;
        let mut post0 = [0.0; 2];
        for path in 0..8usize {
            let z = [path & 1, (path >> 1) & 1, (path >> 2) & 1];
            let mut p = hmm.alpha[z[0]] * emission(hmm.theta[z[0]], x[0]);
            for j in 1..3 {
                p *= trans(j, z[j - 1], z[j]) * emission(hmm.theta[j * 2 + z[j]], x[j]);
            }
            total += p;
            post0[z[0]] += p;
        }
        let mut ws = Workspace::new(3, 2);
        let mut s = Stats::zeros(6);
        hmm.accumulate(&x, &mut ws, &mut s);
        assert!((s.log_likelihood - total.ln()).abs() < 1e-12);
        for (c, p) in post0.iter().enumerate() {
            assert!((s.post0[c] + s.post1[c] - p / total).abs() < 1e-12);
        }
        // Posteriors at every SNP sum to 1.
        for j in 0..3 {
            let p = |c: usize| s.post0[j * 2 + c] + s.post1[j * 2 + c];
            assert!((p(0) + p(1) - 1.0).abs() < 1e-12);
            // x[j] is 1 at SNPs 0 and 2, 0 at SNP 1.
            let other = if x[j] == 1 { &s.post0 } else { &s.post1 };
            assert_eq!(other[j * 2..j * 2 + 2], [0.0, 0.0]);
        }
    }

    #[test]
    fn fit_and_sample_do_not_depend_on_threads() {
        let (n, m) = (70, 40);
        let data = ld_data(n, m, 2);
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let (hmm, lls) = Hmm::fit(&data, n, m, &opts(5, 6), 4, |_, _| {});
                    (hmm.sample(50, 8), lls, hmm)
                })
        };
        let (a, la, ha) = run(1);
        let (b, lb, hb) = run(3);
        assert_eq!(a, b);
        assert_eq!(la, lb);
        assert_eq!(ha, hb);
    }

    #[test]
    fn samples_keep_the_data_s_linkage() {
        let (n, m) = (120, 50);
        let data = ld_data(n, m, 5);
        let (hmm, _) = Hmm::fit(&data, n, m, &opts(8, 30), 6, |_, _| {});
        let out = hmm.sample(2000, 9);
        // Adjacent-SNP agreement (same allele at j and j+1), real against simulated.
        let agree = |v: &[u8], rows: usize| {
            let mut same = 0usize;
            for i in 0..rows {
                for j in 0..m - 1 {
                    same += (v[i * m + j] == v[i * m + j + 1]) as usize;
                }
            }
            same as f64 / (rows * (m - 1)) as f64
        };
        let real = agree(&data, n);
        let sim = agree(&out, 2000);
        let af = crate::independent::allele_frequencies(&data, n, m);
        let indep = crate::independent::simulate(&data, n, m, 2000, 10);
        let naive = agree(&indep, 2000);
        assert!(
            (sim - real).abs() < (naive - real).abs() / 2.0,
            "real {real}, hmm {sim}, independent {naive} (af[0] {})",
            af[0]
        );
    }
}
