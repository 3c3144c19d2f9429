//! ISOMAP fitted on real haplotypes, with an out-of-sample extension for any haplotype.
//!
//! Fit (Tenenbaum, de Silva and Langford 2000), all on the real haplotypes:
//! 1. the K-nearest-neighbour graph under Hamming distance, symmetrised (an edge when either end
//!    is among the other's K nearest); a disconnected graph is joined like scikit-learn's
//!    `_fix_connected_components`: every pair of components gets its shortest connecting edge;
//! 2. geodesic distances = shortest paths in that graph (Dijkstra; the weights are integers, so
//!    the distances are exact and the result does not depend on the order of additions);
//! 3. landmark MDS (de Silva and Tenenbaum 2004): L landmarks (all real haplotypes when
//!    L = n, which is exact ISOMAP, else a seeded random choice), Dijkstra from each landmark,
//!    classical MDS of the L x L squared geodesic matrix Delta: B = -1/2 J Delta J, its top k
//!    eigenpairs (lambda_i, v_i);
//! 4. any point with squared geodesic distances delta (a vector over the landmarks) is placed at
//!    y = -1/2 L# (delta - delta_mean), where row i of L# is v_i / sqrt(lambda_i) and
//!    delta_mean is the column mean of Delta. A landmark lands exactly on its classical MDS
//!    coordinates sqrt(lambda_i) v_i (because B v_i = lambda_i v_i and v_i is orthogonal to 1),
//!    so with L = n this is the in-sample ISOMAP embedding.
//!
//! Where delta comes from:
//! * a real haplotype is a node of the graph: delta is its squared graph geodesics;
//! * any other haplotype x (synthetic) is attached to the graph through its K nearest real
//!   haplotypes r, exactly as a new node with those K edges would be (the symmetrised graph
//!   also gains edges *from* real nodes *to* x, but a shortest path from x to a landmark never
//!   returns through x): geo(x, l) = min over r of (hamming(x, r) + geo(r, l)). The new point
//!   does not change the real geodesics, so real and synthetic share one fixed map.
//!
//! The two agree: for a real haplotype the rule for new points gives back its graph geodesic,
//! since its nearest real haplotype is itself (distance 0) and every other candidate path
//! x -> r -> l is no shorter than the geodesic (r is a graph neighbour of x, so the triangle
//! inequality holds in the graph). The tests check this on training rows.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use artifact::rng::{derive_seed, SeededRng};
use haplotypes::bits::{hamming, nearest, PackedHaplotypes};
use rayon::prelude::*;

use crate::eigen::{dot, top_eigenpairs, DenseSym, EigenError};

/// Sub-stream of `--seed` for the landmark choice.
const LANDMARK_STREAM: u64 = 0x1a4d_3a2c;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsomapOptions {
    pub components: usize,
    pub neighbours: usize,
    pub landmarks: usize,
    pub seed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum IsomapError {
    #[error(transparent)]
    Eigen(#[from] EigenError),
    #[error("ISOMAP: {0}")]
    Invalid(String),
}

/// The undirected kNN graph in compressed rows: the neighbours of node i are
/// `targets[offsets[i]..offsets[i + 1]]` with `weights` (Hamming distances).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    pub offsets: Vec<usize>,
    pub targets: Vec<u32>,
    pub weights: Vec<u32>,
}

impl Graph {
    /// From undirected edges (each listed once or twice, any order); duplicates merged.
    pub fn from_edges(n: usize, edges: &[(usize, usize, u32)]) -> Graph {
        let mut adj: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n];
        for &(a, b, w) in edges {
            if a != b {
                adj[a].push((b as u32, w));
                adj[b].push((a as u32, w));
            }
        }
        let mut g = Graph {
            offsets: Vec::with_capacity(n + 1),
            targets: Vec::new(),
            weights: Vec::new(),
        };
        g.offsets.push(0);
        for mut list in adj {
            list.sort_unstable();
            list.dedup_by_key(|e| e.0);
            for (t, w) in list {
                g.targets.push(t);
                g.weights.push(w);
            }
            g.offsets.push(g.targets.len());
        }
        g
    }

    pub fn n(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn edges(&self) -> usize {
        self.targets.len() / 2
    }

    fn neighbours(&self, i: usize) -> impl Iterator<Item = (usize, u32)> + '_ {
        let r = self.offsets[i]..self.offsets[i + 1];
        self.targets[r.clone()]
            .iter()
            .zip(&self.weights[r])
            .map(|(&t, &w)| (t as usize, w))
    }

    /// Connected component of every node (numbered in order of their smallest node) and the
    /// number of components.
    pub fn components(&self) -> (Vec<usize>, usize) {
        let n = self.n();
        let mut label = vec![usize::MAX; n];
        let mut count = 0;
        let mut stack = Vec::new();
        for s in 0..n {
            if label[s] != usize::MAX {
                continue;
            }
            label[s] = count;
            stack.push(s);
            while let Some(u) = stack.pop() {
                for (v, _) in self.neighbours(u) {
                    if label[v] == usize::MAX {
                        label[v] = count;
                        stack.push(v);
                    }
                }
            }
            count += 1;
        }
        (label, count)
    }

    /// Shortest-path distances from `source` (u32::MAX where unreachable).
    pub fn dijkstra(&self, source: usize) -> Vec<u32> {
        let mut dist = vec![u32::MAX; self.n()];
        let mut heap = BinaryHeap::new();
        dist[source] = 0;
        heap.push(Reverse((0u32, source as u32)));
        while let Some(Reverse((d, u))) = heap.pop() {
            let u = u as usize;
            if d > dist[u] {
                continue;
            }
            for (v, w) in self.neighbours(u) {
                let nd = d.saturating_add(w);
                if nd < dist[v] {
                    dist[v] = nd;
                    heap.push(Reverse((nd, v as u32)));
                }
            }
        }
        dist
    }
}

/// The symmetrised K-nearest-neighbour graph of `points` under Hamming distance.
pub fn knn_graph(points: &PackedHaplotypes, k: usize) -> Graph {
    let nn = nearest(points, points, k, true);
    let edges: Vec<(usize, usize, u32)> = nn
        .iter()
        .enumerate()
        .flat_map(|(i, list)| list.iter().map(move |&(d, j)| (i, j, d)))
        .collect();
    Graph::from_edges(points.n, &edges)
}

/// The shortest edge (Hamming distance, then lowest indices) between every pair of components,
/// as scikit-learn's `_fix_connected_components` adds them.
pub fn joining_edges(
    points: &PackedHaplotypes,
    label: &[usize],
    count: usize,
) -> Vec<(usize, usize, u32)> {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (i, &c) in label.iter().enumerate() {
        members[c].push(i);
    }
    let mut edges = Vec::new();
    for (ci, mi) in members.iter().enumerate() {
        // For each member a of component ci, the nearest point of every later component; then
        // the minimum over a of (distance, a, b), which does not depend on thread scheduling.
        let per_point: Vec<Vec<Option<(u32, usize, usize)>>> = mi
            .par_iter()
            .map(|&a| {
                let mut best: Vec<Option<(u32, usize, usize)>> = vec![None; count];
                let ra = points.row(a);
                for (b, &cb) in label.iter().enumerate() {
                    if cb <= ci {
                        continue;
                    }
                    let cand = (hamming(ra, points.row(b)), a, b);
                    if best[cb].is_none_or(|cur| cand < cur) {
                        best[cb] = Some(cand);
                    }
                }
                best
            })
            .collect();
        for cj in ci + 1..count {
            let best = per_point.iter().filter_map(|p| p[cj]).min();
            if let Some((d, a, b)) = best {
                edges.push((a, b, d));
            }
        }
    }
    edges
}

/// A fitted ISOMAP map.
#[derive(Debug, Clone)]
pub struct Isomap {
    pub options: IsomapOptions,
    /// The real haplotypes the map was fitted on.
    reference: PackedHaplotypes,
    /// Landmark rows of `reference`, ascending.
    pub landmarks: Vec<usize>,
    /// geo[l][i]: geodesic distance from landmark l to real haplotype i.
    geo: Vec<Vec<u32>>,
    /// Column means of the squared landmark geodesic matrix.
    delta_mean: Vec<f64>,
    /// Rows of L#: v_i / sqrt(lambda_i).
    pinv: Vec<Vec<f64>>,
    /// Top eigenvalues of the landmark MDS matrix B.
    pub eigenvalues: Vec<f64>,
    /// Components of the kNN graph before joining, and the edges added to join them.
    pub graph_components: usize,
    pub joining_edges: usize,
    pub graph_edges: usize,
}

/// Fit on `real` (n haplotypes). Needs 1 <= neighbours < n and components < min(n, landmarks).
pub fn fit(real: &PackedHaplotypes, opts: IsomapOptions) -> Result<Isomap, IsomapError> {
    let n = real.n;
    let IsomapOptions {
        components: k,
        neighbours,
        landmarks,
        seed,
    } = opts;
    if neighbours == 0 || neighbours >= n {
        return Err(IsomapError::Invalid(format!(
            "--neighbours {neighbours} must be between 1 and the number of real haplotypes - 1 ({})",
            n.saturating_sub(1)
        )));
    }
    let l = n.min(landmarks);
    if k == 0 || k >= l {
        return Err(IsomapError::Invalid(format!(
            "{k} components need at least {} landmarks, have {l} (--landmarks {landmarks}, {n} real haplotypes)",
            k + 1
        )));
    }
    let t = std::time::Instant::now();
    let mut graph = knn_graph(real, neighbours);
    let (label, count) = graph.components();
    let mut joined = 0;
    if count > 1 {
        let extra = joining_edges(real, &label, count);
        joined = extra.len();
        tracing::info!(
            "ISOMAP: the {neighbours}-nearest-neighbour graph has {count} connected components; joined them with their {joined} shortest inter-component edges (as scikit-learn does); more --neighbours avoids this"
        );
        let mut edges: Vec<(usize, usize, u32)> = (0..n)
            .flat_map(|i| graph.neighbours(i).map(move |(j, w)| (i, j, w)))
            .collect();
        edges.extend(extra);
        graph = Graph::from_edges(n, &edges);
    }
    tracing::info!(
        "ISOMAP: kNN graph over {n} real haplotypes, K = {neighbours}, {} edges ({:.1?})",
        graph.edges(),
        t.elapsed()
    );

    let t = std::time::Instant::now();
    let chosen: Vec<usize> = if l == n {
        (0..n).collect()
    } else {
        let mut idx: Vec<usize> = (0..n).collect();
        SeededRng::new(derive_seed(seed, LANDMARK_STREAM)).shuffle(&mut idx);
        let mut c = idx[..l].to_vec();
        c.sort_unstable();
        c
    };
    let geo: Vec<Vec<u32>> = chosen.par_iter().map(|&s| graph.dijkstra(s)).collect();
    if let Some(i) = geo
        .iter()
        .flat_map(|g| g.iter())
        .position(|&d| d == u32::MAX)
    {
        // Cannot happen after joining; a clear error beats an infinite coordinate.
        return Err(IsomapError::Invalid(format!(
            "haplotype {} is unreachable in the joined graph",
            i % n
        )));
    }
    tracing::info!(
        "ISOMAP: geodesics from {l} landmarks{} ({:.1?})",
        if l == n {
            " (all real haplotypes: exact ISOMAP)"
        } else {
            ""
        },
        t.elapsed()
    );

    let t = std::time::Instant::now();
    // Delta[a][b] = geo(landmark a, landmark b)^2 (symmetric: the graph is undirected and the
    // integer distances exact).
    let sq = |d: u32| (d as f64) * (d as f64);
    let delta: Vec<f64> = (0..l)
        .flat_map(|a| chosen.iter().map(move |&b| (a, b)))
        .map(|(a, b)| sq(geo[a][b]))
        .collect();
    let delta_mean: Vec<f64> = (0..l)
        .map(|b| (0..l).map(|a| delta[a * l + b]).sum::<f64>() / l as f64)
        .collect();
    let grand = delta_mean.iter().sum::<f64>() / l as f64;
    let b: Vec<f64> = (0..l * l)
        .map(|ij| {
            let (i, j) = (ij / l, ij % l);
            -0.5 * (delta[ij] - delta_mean[i] - delta_mean[j] + grand)
        })
        .collect();
    drop(delta);
    let pairs = top_eigenpairs(&DenseSym::new(l, b), k)?;
    let positive = pairs
        .values
        .iter()
        .take_while(|&&v| v > 1e-9 * pairs.values[0].abs())
        .count();
    if positive < k {
        return Err(IsomapError::Invalid(format!(
            "the landmark MDS matrix has only {positive} positive eigenvalues among its top {k} ({:?}); use fewer --components",
            pairs.values
        )));
    }
    tracing::info!(
        "ISOMAP: landmark MDS, top {k} eigenvalues {:?} ({} iterations, {:.1?})",
        pairs.values,
        pairs.iterations,
        t.elapsed()
    );
    let pinv = pairs
        .vectors
        .iter()
        .zip(&pairs.values)
        .map(|(v, &lam)| v.iter().map(|x| x / lam.sqrt()).collect())
        .collect();
    Ok(Isomap {
        options: opts,
        reference: real.clone(),
        landmarks: chosen,
        geo,
        delta_mean,
        pinv,
        eigenvalues: pairs.values,
        graph_components: count,
        joining_edges: joined,
        graph_edges: graph.edges(),
    })
}

impl Isomap {
    pub fn components(&self) -> usize {
        self.pinv.len()
    }

    /// y = -1/2 L# (delta - delta_mean) for squared geodesics `delta` to the landmarks.
    fn place(&self, delta: &mut [f64]) -> Vec<f64> {
        for (d, m) in delta.iter_mut().zip(&self.delta_mean) {
            *d -= m;
        }
        self.pinv.iter().map(|row| -0.5 * dot(row, delta)).collect()
    }

    /// Coordinates of the real haplotypes the map was fitted on (row-major n x k), from their
    /// graph geodesics.
    pub fn embed_reference(&self) -> Vec<f64> {
        (0..self.reference.n)
            .into_par_iter()
            .flat_map_iter(|i| {
                let mut delta: Vec<f64> = self.geo.iter().map(|g| (g[i] as f64).powi(2)).collect();
                self.place(&mut delta)
            })
            .collect()
    }

    /// Coordinates of new haplotypes (row-major n x k): each attached to the graph through its
    /// K nearest real haplotypes (see the module documentation).
    pub fn embed(&self, points: &PackedHaplotypes) -> Vec<f64> {
        let nn = nearest(points, &self.reference, self.options.neighbours, false);
        nn.par_iter()
            .flat_map_iter(|list| {
                let mut delta: Vec<f64> = self
                    .geo
                    .iter()
                    .map(|g| {
                        let d = list
                            .iter()
                            .map(|&(h, r)| h as u64 + g[r] as u64)
                            .min()
                            .expect("at least one neighbour");
                        (d as f64).powi(2)
                    })
                    .collect();
                self.place(&mut delta)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row i has its first i bits set: Hamming distance |i - j|, a 1-D chain.
    fn chain(n: usize) -> PackedHaplotypes {
        let m = n;
        let mut v = vec![0u8; n * m];
        for i in 0..n {
            for j in 0..i {
                v[i * m + j] = 1;
            }
        }
        PackedHaplotypes::from_rows(&v, m)
    }

    fn opts(components: usize, neighbours: usize, landmarks: usize) -> IsomapOptions {
        IsomapOptions {
            components,
            neighbours,
            landmarks,
            seed: 3,
        }
    }

    fn assert_close(a: &[f64], b: &[f64], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{i}: {x} vs {y}");
        }
    }

    #[test]
    fn chain_embeds_monotone_and_out_of_sample_matches_in_sample() {
        for (n, landmarks) in [(40, 1000), (260, 1000), (260, 30)] {
            let pts = chain(n);
            let iso = fit(&pts, opts(1, 3, landmarks)).unwrap();
            assert_eq!(iso.graph_components, 1);
            let y = iso.embed_reference();
            let increasing = y.windows(2).all(|w| w[1] > w[0]);
            let decreasing = y.windows(2).all(|w| w[1] < w[0]);
            assert!(increasing || decreasing, "n {n}, L {landmarks}: {y:?}");
            // Geodesic = |i - j|, so the chain is isometric to a line: unit spacing.
            assert!(
                y.windows(2)
                    .all(|w| ((w[1] - w[0]).abs() - 1.0).abs() < 1e-6),
                "{y:?}"
            );
            // The training rows as new points land on their in-sample coordinates.
            assert_close(&iso.embed(&pts), &y, 1e-9);
        }
    }

    #[test]
    fn landmark_choice_is_seeded() {
        let pts = chain(100);
        let a = fit(&pts, opts(1, 2, 20)).unwrap();
        let b = fit(&pts, opts(1, 2, 20)).unwrap();
        let c = fit(
            &pts,
            IsomapOptions {
                seed: 4,
                ..opts(1, 2, 20)
            },
        )
        .unwrap();
        assert_eq!(a.landmarks, b.landmarks);
        assert_eq!(a.landmarks.len(), 20);
        assert_ne!(a.landmarks, c.landmarks);
        assert_eq!(a.embed_reference(), b.embed_reference());
    }

    #[test]
    fn disconnected_graph_is_joined_by_shortest_edges() {
        // Two chains: row a < 20 has bits 0..a set; row 20 + i has bits 32..32+i and 60..64
        // set. Within a chain the distance is the index difference; across, a + i + 4, so with
        // K = 2 each chain is its own component and the join is rows 0 and 20 at distance 4.
        let m = 64;
        let mut v = vec![0u8; 40 * m];
        for i in 0..20 {
            for j in 0..i {
                v[i * m + j] = 1;
                v[(20 + i) * m + 32 + j] = 1;
            }
            for j in 60..64 {
                v[(20 + i) * m + j] = 1;
            }
        }
        let pts = PackedHaplotypes::from_rows(&v, m);
        let g = knn_graph(&pts, 2);
        let (label, count) = g.components();
        assert_eq!(count, 2);
        let extra = joining_edges(&pts, &label, count);
        assert_eq!(extra, vec![(0, 20, 4)]);
        let iso = fit(&pts, opts(1, 2, 1000)).unwrap();
        assert_eq!((iso.graph_components, iso.joining_edges), (2, 1));
        // The joined graph is one path 19, ..., 0, 20, ..., 39 with geodesics along it: a line,
        // so the coordinate is monotone along the path.
        let y = iso.embed_reference();
        let path: Vec<usize> = (0..20).rev().chain(20..40).collect();
        let along: Vec<f64> = path.iter().map(|&i| y[i]).collect();
        assert!(
            along.windows(2).all(|w| w[1] > w[0]) || along.windows(2).all(|w| w[1] < w[0]),
            "{along:?}"
        );
        assert!((along[20] - along[19]).abs() > 3.99);
        // Three components: every pair gets an edge.
        let mut label3 = label.clone();
        label3[39] = 2;
        assert_eq!(joining_edges(&pts, &label3, 3).len(), 3);
    }

    #[test]
    fn bad_options_are_errors() {
        let pts = chain(10);
        for (o, what) in [
            (opts(1, 0, 100), "--neighbours 0"),
            (opts(1, 10, 100), "--neighbours 10"),
            (opts(2, 3, 2), "landmarks"),
        ] {
            let err = fit(&pts, o).unwrap_err().to_string();
            assert!(err.contains(what), "{err}");
        }
    }
}
