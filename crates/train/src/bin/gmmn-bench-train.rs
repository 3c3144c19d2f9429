//! `gmmn-bench-train`: seconds per training step beside this machine's GEMM floor.
//!
//! For each configuration it times whole training steps (noise, generator, quantizer, random
//! features, loss, backward, Adam) on random data of the right shape, then times each GEMM that
//! a dense step performs, alone, at its own shape; the floor is the sum of each GEMM's FLOPs
//! divided by its measured rate. `make bench` runs it.
//!
//! A configuration with eight fields is a local one (the shape `bench/scaling.sh` scales to a
//! chromosome arm): a block-diagonal generator of K blocks and window features; its floor is
//! each batched GEMM (bmm) of the step timed alone at its own shape.

use std::time::Instant;

use artifact::features::{FeatureMap, FeatureSpec, WeightInit};
use clap::Parser;
use tch::{Device, Kind, Tensor};
use train::features::{FeatureTensor, Objective};
use train::generator::{Generator, OutputLayer, Shape};
use train::{batch_loss, step_flops, Adam, DeviceChoice};

#[derive(Debug, Parser)]
#[command(name = "gmmn-bench-train")]
struct Cli {
    /// Least number of timed steps per configuration (after one warm-up; more until 2 s pass)
    #[arg(long, default_value_t = 3)]
    steps: u32,
    /// Configurations, comma-separated: dense name:M:H:Z:batch:multiplier, or local
    /// name:M:H:Z:batch:blocks:window:per-window (window features with stride window/2)
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "paper:5000:4096:5000:512:10,cpu-default:805:1024:805:512:10"
    )]
    configs: Vec<String>,
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
    /// CPU threads for libtorch
    #[arg(long)]
    threads: Option<i32>,
}

struct Config {
    name: String,
    shape: Shape,
    batch: i64,
    features: Features,
}

enum Features {
    /// Dense ReLU features, D = multiplier x M.
    Dense { multiplier: usize },
    /// Window features: width, features per window (stride width / 2).
    Window { window: usize, per_window: usize },
}

fn parse(s: &str) -> Result<Config, String> {
    let f: Vec<&str> = s.split(':').collect();
    let bad = || {
        format!("bad config `{s}` (name:M:H:Z:batch:multiplier or name:M:H:Z:batch:blocks:window:per-window)")
    };
    let n = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|&v| v > 0)
            .ok_or_else(bad)
    };
    let mut shape = Shape::dense(n(3)?, n(2)?, n(1)?);
    let features = match f.len() {
        6 => Features::Dense {
            multiplier: n(5)? as usize,
        },
        8 => {
            shape.blocks = n(5)?;
            shape.check()?;
            Features::Window {
                window: n(6)? as usize,
                per_window: n(7)? as usize,
            }
        }
        _ => return Err(bad()),
    };
    Ok(Config {
        name: f[0].to_string(),
        shape,
        batch: n(4)?,
        features,
    })
}

fn sync(device: Device) {
    if let Device::Cuda(_) = device {
        tch::Cuda::synchronize(0);
    }
}

/// Seconds for `f`, median of `reps` runs after one warm-up.
fn time(device: Device, reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    sync(device);
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            sync(device);
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// (FLOPs, seconds) of C = A (m x k) B (k x n), with the operand layouts a dense step uses.
fn gemm(device: Device, m: i64, k: i64, n: i64, a_t: bool, b_t: bool) -> (f64, f64) {
    let o = (Kind::Float, device);
    let a = if a_t {
        Tensor::randn([k, m], o).tr()
    } else {
        Tensor::randn([m, k], o)
    };
    let b = if b_t {
        Tensor::randn([n, k], o).tr()
    } else {
        Tensor::randn([k, n], o)
    };
    let secs = time(device, 5, || {
        let _ = a.mm(&b);
    });
    (2.0 * (m * k * n) as f64, secs)
}

/// (FLOPs, seconds) of `batches` products (m x k)(k x n) in one bmm.
fn bmm(device: Device, batches: i64, m: i64, k: i64, n: i64) -> (f64, f64) {
    let o = (Kind::Float, device);
    let a = Tensor::randn([batches, m, k], o);
    let b = Tensor::randn([batches, k, n], o);
    let secs = time(device, 5, || {
        let _ = a.bmm(&b);
    });
    (2.0 * (batches * m * k * n) as f64, secs)
}

fn main() {
    let cli = Cli::parse();
    if let Some(t) = cli.threads {
        tch::set_num_threads(t);
    }
    let device = match cli.device.resolve() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("gmmn-bench-train: error: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "device {device:?}, libtorch threads {}",
        tch::get_num_threads()
    );
    println!("| config | M | H | Z | K | batch | D | GFLOP/step | s/step | GEMM floor s/step | ratio | step GFLOP/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for spec in &cli.configs {
        let c = match parse(spec) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("gmmn-bench-train: error: {e}");
                std::process::exit(2);
            }
        };
        let Shape {
            snps: m,
            hidden: h,
            latent: z,
            ..
        } = c.shape;
        let fs = match c.features {
            Features::Dense { multiplier } => FeatureSpec::new(
                FeatureMap::Relu,
                WeightInit::Gaussian,
                m as usize,
                multiplier,
            ),
            Features::Window { window, per_window } => FeatureSpec::windowed(
                WeightInit::Gaussian,
                m as usize,
                window,
                (window / 2).max(1),
                per_window,
            ),
        };
        let fs = match fs {
            Ok(fs) => fs,
            Err(e) => {
                eprintln!("gmmn-bench-train: error: {spec}: {e}");
                std::process::exit(2);
            }
        };
        let d = fs.features as i64;
        tch::manual_seed(1);
        let mut gen = Generator::new(c.shape, OutputLayer::Quantizer, 1, device);
        let mut adam = Adam::new(&gen, 1e-4, 0.5, 0.999);
        let phi = Objective::plain(FeatureTensor::new(&fs, 7, device), fs.features);
        let mu = Tensor::rand([d], (Kind::Float, device)) * 0.1;
        let mut t = 0u64;
        let mut step = || {
            t += 1;
            let noise = Tensor::randn([c.batch, z], (Kind::Float, device));
            let loss = batch_loss(&gen, &phi, &mu, &noise);
            loss.backward();
            adam.step(&mut gen, t);
            let _ = loss.double_value(&[]);
        };
        step();
        sync(device);
        // At least --steps steps and at least 2 s of them; the median step resists a noisy
        // neighbour on a shared machine.
        let mut times = Vec::new();
        let started = Instant::now();
        while times.len() < cli.steps as usize || started.elapsed().as_secs_f64() < 2.0 {
            let s = Instant::now();
            step();
            sync(device);
            times.push(s.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let per_step = times[times.len() / 2];
        let b = c.batch;
        let gemms: Vec<(f64, f64)> = match c.features {
            // The GEMMs of a dense step: forward, then backward (weight and input gradients).
            Features::Dense { .. } => {
                let gemms = vec![
                    gemm(device, b, z, h, false, true),  // noise W1^T
                    gemm(device, b, h, m, false, true),  // hidden W2^T
                    gemm(device, b, m, d, false, true),  // fake W^T
                    gemm(device, b, d, m, false, false), // d fake = d phi W
                    gemm(device, m, b, h, true, false),  // d W2 = d out^T hidden
                    gemm(device, b, m, h, false, false), // d hidden = d out W2
                    gemm(device, h, b, z, true, false),  // d W1 = d hidden^T noise
                ];
                let flops: f64 = gemms.iter().map(|g| g.0).sum();
                let model_flops = step_flops(c.shape, b, d, true);
                assert!(
                    (flops - model_flops).abs() < 1e-6 * model_flops,
                    "FLOP count mismatch"
                );
                gemms
            }
            // The batched GEMMs of a local step: K generator blocks (each block's padded width),
            // nW feature windows; W of the features is fixed, so only d fake flows back there.
            Features::Window { .. } => {
                let k = c.shape.blocks;
                let mk = c
                    .shape
                    .block_bounds()
                    .windows(2)
                    .map(|w| w[1] - w[0])
                    .max()
                    .unwrap_or(0);
                let (zk, hk) = (z / k, h / k);
                let nw = fs.window_starts().len() as i64;
                let (w, f) = (fs.window as i64, fs.per_window as i64);
                vec![
                    bmm(device, k, b, zk, hk), // noise block x W1 block
                    bmm(device, k, b, hk, mk), // hidden block x W2 block
                    bmm(device, nw, b, w, f),  // fake window x W window
                    bmm(device, nw, b, f, w),  // d fake window = d phi W^T
                    bmm(device, k, hk, b, mk), // d W2 block = hidden^T d out
                    bmm(device, k, b, mk, hk), // d hidden block = d out W2^T
                    bmm(device, k, zk, b, hk), // d W1 block = noise^T d hidden
                ]
            }
        };
        let flops: f64 = gemms.iter().map(|g| g.0).sum();
        let floor: f64 = gemms.iter().map(|g| g.1).sum();
        println!(
            "| {} | {m} | {h} | {z} | {} | {b} | {d} | {:.1} | {:.3} | {:.3} | {:.2} | {:.1} |",
            c.name,
            c.shape.blocks,
            flops / 1e9,
            per_step,
            floor,
            per_step / floor,
            flops / per_step / 1e9
        );
    }
}
