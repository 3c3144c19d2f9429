//! Portable, counter-based random numbers.
//!
//! The sketch stage (run by the data owner) and the trainer (run by anyone holding the sketch)
//! must regenerate the same random feature matrix W bit for bit, possibly on different machines.
//! So every value here is a pure function of `(seed, index)`: SplitMix64's output function over a
//! counter, turned into floats with integer arithmetic and the pure-Rust musl `libm` (no platform
//! libm, no FMA contraction: Rust never fuses `a * b + c` on its own). Being counter-based, any
//! block of W can be generated independently, in parallel, in any order.

/// SplitMix64's finaliser (Steele, Lea and Flood 2014): a bijection on u64 with good avalanche.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// A seed for sub-stream `stream` of `seed` (restart r, training step s, ...).
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    mix64(seed ^ mix64(stream.wrapping_add(1).wrapping_mul(GOLDEN_GAMMA)))
}

/// The `index`-th 64-bit value of stream `seed` (SplitMix64's `index+1`-th output).
#[inline]
pub fn counter_u64(seed: u64, index: u64) -> u64 {
    mix64(seed.wrapping_add(index.wrapping_add(1).wrapping_mul(GOLDEN_GAMMA)))
}

/// Uniform in the open interval (0, 1) from the top 52 bits (k + 0.5 for k < 2^52 is exact in
/// an f64, so neither end is reachable).
#[inline]
pub fn open01(bits: u64) -> f64 {
    ((bits >> 12) as f64 + 0.5) * (1.0 / (1u64 << 52) as f64)
}

/// Standard normal value number `index` of stream `seed`: Box-Muller on two counter values
/// (the cosine half; each index has its own pair, so values are independent of the block shape).
#[inline]
pub fn gaussian(seed: u64, index: u64) -> f64 {
    let u1 = open01(counter_u64(seed, index.wrapping_mul(2)));
    let u2 = open01(counter_u64(seed, index.wrapping_mul(2).wrapping_add(1)));
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(std::f64::consts::TAU * u2)
}

/// Uniform in (0, 1), value number `index` of stream `seed`.
#[inline]
pub fn uniform(seed: u64, index: u64) -> f64 {
    open01(counter_u64(seed, index))
}

/// A small sequential generator over the same counter function, for code that just needs
/// "the next number" (shuffles, splits).
#[derive(Debug, Clone)]
pub struct SeededRng {
    seed: u64,
    next: u64,
}

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        SeededRng { seed, next: 0 }
    }

    pub fn next_u64(&mut self) -> u64 {
        let v = counter_u64(self.seed, self.next);
        self.next += 1;
        v
    }

    /// Uniform in (0, 1).
    pub fn next_f64(&mut self) -> f64 {
        open01(self.next_u64())
    }

    /// Uniform integer in 0..n (n > 0), by rejection so that it is exactly uniform.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // SplitMix64 seeded with 0: the published first outputs.
        assert_eq!(counter_u64(0, 0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(counter_u64(0, 1), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(counter_u64(0, 2), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn gaussian_moments() {
        let n = 200_000u64;
        let (mut s, mut s2, mut s4) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let g = gaussian(42, i);
            s += g;
            s2 += g * g;
            s4 += g * g * g * g;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        let kurt = s4 / n as f64 / (var * var);
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
        assert!((kurt - 3.0).abs() < 0.05, "kurtosis {kurt}");
    }

    #[test]
    fn uniform_in_open_interval_and_streams_differ() {
        assert!(open01(0) > 0.0 && open01(u64::MAX) < 1.0);
        assert_ne!(derive_seed(1, 0), derive_seed(1, 1));
        assert_ne!(derive_seed(1, 0), derive_seed(2, 0));
        let mut r = SeededRng::new(7);
        let mut v: Vec<u32> = (0..50).collect();
        r.shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(v, (0..50).collect::<Vec<_>>());
    }
}
