//! Trains the reference trading policy and writes it as a WMLP model.
//!
//! ```text
//! cargo run -p warden-agent --example train_reference -- \
//!     --out crates/agent/models/reference.wmlp \
//!     --solidity contracts/test/agent/ReferenceModel.sol
//! ```
//!
//! Floating point lives only here, in training: the float MLP is trained on the *integer*
//! features the agent computes, then quantized to int8 weights, int32 biases and
//! multiplier/shift requantization, and from then on only the integer model exists.
//!
//! The run is reproducible bit for bit: a fixed seed, a self-contained PRNG (SplitMix64),
//! Gaussian noise from a sum of uniforms, and no transcendental functions (only `+ - * /` and
//! `sqrt`, which IEEE 754 defines exactly), so the same model comes out on every x86-64 or
//! aarch64 machine. `--check FILE` retrains and fails unless the result equals FILE.
//!
//! Data: synthetic price paths from three regimes (momentum, mean reversion, drifting random
//! walk) with random volatility, and a vault holding a random fraction of its value in base.
//! Label: buy if the price rises by more than one step's volatility over the next 4 steps and
//! the vault is not already mostly in base, sell for the mirror case, hold otherwise.

// A command-line tool: errors end the run with a message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use alloy::primitives::U256;
use warden_agent::features::{FEATURE_NAMES, HISTORY_LEN, features};
use warden_agent::mlp::decide;
use warden_agent::model::{LayerJson, ModelJson, Requant};
use warden_agent::splitmix::SplitMix64;
use warden_agent::{ActionKind, AgentInput, Model, NUM_ACTIONS, NUM_FEATURES};

const SEED: u64 = 0x5741_5244_454e_0001; // "WARDEN" 1
const HIDDEN: [usize; 2] = [16, 16];
const TRAIN: usize = 24_000;
const TEST: usize = 6_000;
const EPOCHS: usize = 30;
const BATCH: usize = 32;
const LEARNING_RATE: f64 = 0.005;
const MOMENTUM: f64 = 0.9;
const HORIZON: usize = 4;
/// A real-valued logit margin of this much (on the one-hot MSE scale) trades the maximum size.
const FULL_SIZE_MARGIN: f64 = 0.5;
const MAX_SIZE_BPS: f64 = 2_500.0;

/// The training data's randomness: SplitMix64, fully specified, so the data never depends on a
/// crate version.
struct Rng(SplitMix64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1) with 53 random bits.
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Approximately standard normal (Irwin–Hall with 12 terms): no `ln`/`cos` needed.
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

struct Sample {
    x: [f64; NUM_FEATURES],
    features: [i8; NUM_FEATURES],
    label: usize,
}

/// A price path of `HISTORY_LEN + HORIZON` points from one of three regimes.
fn price_path(rng: &mut Rng) -> (Vec<f64>, f64) {
    let sigma = rng.range(0.002, 0.02);
    let mut price = rng.range(50.0, 5_000.0);
    let n = HISTORY_LEN + HORIZON;
    let mut path = Vec::with_capacity(n);
    match rng.below(3) {
        // Momentum: autocorrelated returns.
        0 => {
            let phi = rng.range(0.3, 0.8);
            let mut r = sigma * rng.normal();
            for _ in 0..n {
                path.push(price);
                r = phi * r + sigma * rng.normal();
                price *= 1.0 + r;
            }
        }
        // Mean reversion around a level.
        1 => {
            let level = price;
            let kappa = rng.range(0.15, 0.5);
            let mut deviation = rng.range(-0.05, 0.05);
            for _ in 0..n {
                path.push(level * (1.0 + deviation));
                deviation += -kappa * deviation + sigma * rng.normal();
            }
        }
        // Random walk with drift.
        _ => {
            let drift = rng.range(-0.5, 0.5) * sigma;
            for _ in 0..n {
                path.push(price);
                price *= 1.0 + drift + sigma * rng.normal();
            }
        }
    }
    for p in &mut path {
        *p = p.max(1e-6);
    }
    (path, sigma)
}

/// A price in 1e18 fixed point, via an integer number of micro-units.
fn to_wad(price: f64) -> U256 {
    U256::from((price * 1e6).round() as u128) * U256::from(1_000_000_000_000u64)
}

fn sample(rng: &mut Rng) -> Sample {
    let (path, sigma) = price_path(rng);
    let history: Vec<U256> = path[..HISTORY_LEN].iter().map(|&p| to_wad(p)).collect();
    let now = path[HISTORY_LEN - 1];
    let future = path[HISTORY_LEN - 1 + HORIZON];
    let fraction_base = rng.uniform();
    let value = rng.range(1_000.0, 1_000_000.0);
    let base_units = fraction_base * value / now;
    let quote_units = (1.0 - fraction_base) * value;
    // Both tokens with 18 decimals; the position feature compares value, so a deployment whose
    // quote token has other decimals needs a model trained for it.
    let input = AgentInput {
        balanceBase: to_wad(base_units),
        balanceQuote: to_wad(quote_units),
        priceHistory: history,
        ..Default::default()
    };
    let features = features(&input).expect("16 prices");
    let ret = future / now - 1.0;
    let threshold = sigma;
    let label = if ret > threshold && fraction_base < 0.85 {
        1
    } else if ret < -threshold && fraction_base > 0.15 {
        2
    } else {
        0
    };
    let mut x = [0.0; NUM_FEATURES];
    for (xi, &f) in x.iter_mut().zip(&features) {
        *xi = f64::from(f) / 127.0;
    }
    Sample { x, features, label }
}

struct Dense {
    inputs: usize,
    outputs: usize,
    w: Vec<f64>,
    b: Vec<f64>,
    vw: Vec<f64>,
    vb: Vec<f64>,
}

impl Dense {
    fn new(rng: &mut Rng, inputs: usize, outputs: usize) -> Self {
        let scale = (2.0 / inputs as f64).sqrt();
        Self {
            inputs,
            outputs,
            w: (0..inputs * outputs)
                .map(|_| scale * rng.normal())
                .collect(),
            b: vec![0.0; outputs],
            vw: vec![0.0; inputs * outputs],
            vb: vec![0.0; outputs],
        }
    }

    fn forward(&self, x: &[f64]) -> Vec<f64> {
        (0..self.outputs)
            .map(|j| {
                let row = &self.w[j * self.inputs..(j + 1) * self.inputs];
                self.b[j] + row.iter().zip(x).map(|(w, x)| w * x).sum::<f64>()
            })
            .collect()
    }
}

struct Mlp {
    layers: Vec<Dense>,
}

impl Mlp {
    /// Every layer's output (pre-activation for the last, post-ReLU otherwise).
    fn activations(&self, x: &[f64]) -> Vec<Vec<f64>> {
        let mut acts = vec![x.to_vec()];
        for (l, layer) in self.layers.iter().enumerate() {
            let mut y = layer.forward(acts.last().unwrap());
            if l + 1 < self.layers.len() {
                for v in &mut y {
                    *v = v.max(0.0);
                }
            }
            acts.push(y);
        }
        acts
    }

    fn train_batch(&mut self, batch: &[&Sample], class_weight: &[f64; NUM_ACTIONS]) {
        let mut grads: Vec<(Vec<f64>, Vec<f64>)> = self
            .layers
            .iter()
            .map(|l| (vec![0.0; l.w.len()], vec![0.0; l.b.len()]))
            .collect();
        for s in batch {
            let acts = self.activations(&s.x);
            let out = acts.last().unwrap();
            let weight = class_weight[s.label];
            let mut delta: Vec<f64> = out
                .iter()
                .enumerate()
                .map(|(k, &o)| 2.0 * weight * (o - if k == s.label { 1.0 } else { 0.0 }))
                .collect();
            for l in (0..self.layers.len()).rev() {
                let layer = &self.layers[l];
                let input = &acts[l];
                let (gw, gb) = &mut grads[l];
                for j in 0..layer.outputs {
                    gb[j] += delta[j];
                    for i in 0..layer.inputs {
                        gw[j * layer.inputs + i] += delta[j] * input[i];
                    }
                }
                if l > 0 {
                    delta = (0..layer.inputs)
                        .map(|i| {
                            if input[i] <= 0.0 {
                                return 0.0;
                            }
                            (0..layer.outputs)
                                .map(|j| layer.w[j * layer.inputs + i] * delta[j])
                                .sum()
                        })
                        .collect();
                }
            }
        }
        let scale = LEARNING_RATE / batch.len() as f64;
        for (layer, (gw, gb)) in self.layers.iter_mut().zip(grads) {
            for ((w, v), g) in layer.w.iter_mut().zip(&mut layer.vw).zip(gw) {
                *v = MOMENTUM * *v - scale * g;
                *w += *v;
            }
            for ((b, v), g) in layer.b.iter_mut().zip(&mut layer.vb).zip(gb) {
                *v = MOMENTUM * *v - scale * g;
                *b += *v;
            }
        }
    }

    fn predict(&self, x: &[f64]) -> usize {
        let acts = self.activations(x);
        let out = acts.last().unwrap();
        let mut best = 0;
        for k in 1..out.len() {
            if out[k] > out[best] {
                best = k;
            }
        }
        best
    }
}

/// `m / 2^s ≈ real` with `m` in [2^30, 2^31) (the most precise int32 multiplier).
fn to_multiplier(real: f64) -> Requant {
    assert!(real > 0.0, "requantization scale must be positive");
    let mut shift = 0u8;
    let mut scaled = real;
    while scaled < (1u64 << 30) as f64 && shift < 62 {
        scaled *= 2.0;
        shift += 1;
    }
    let multiplier = scaled.round().min(i32::MAX as f64) as i32;
    assert!((1..=62).contains(&shift), "scale {real} out of range");
    Requant { multiplier, shift }
}

fn quantize(mlp: &Mlp, train: &[Sample]) -> (Model, f64) {
    // Activation scales from the largest activation seen on the training set, so no training
    // input saturates a hidden unit.
    let mut max_act = vec![0.0f64; mlp.layers.len()];
    for s in train {
        let acts = mlp.activations(&s.x);
        for (l, a) in acts[1..].iter().enumerate() {
            for &v in a {
                max_act[l] = max_act[l].max(v.abs());
            }
        }
    }
    let mut input_scale = 1.0 / 127.0;
    let mut layers = Vec::new();
    let mut logit_scale = 0.0;
    for (l, layer) in mlp.layers.iter().enumerate() {
        let max_w = layer
            .w
            .iter()
            .fold(0.0f64, |m, w| m.max(w.abs()))
            .max(1e-12);
        let weight_scale = max_w / 127.0;
        let acc_scale = input_scale * weight_scale;
        let weights: Vec<Vec<i8>> = layer
            .w
            .chunks(layer.inputs)
            .map(|row| {
                row.iter()
                    .map(|w| (w / weight_scale).round().clamp(-127.0, 127.0) as i8)
                    .collect()
            })
            .collect();
        let biases: Vec<i32> = layer
            .b
            .iter()
            .map(|b| (b / acc_scale).round() as i32)
            .collect();
        let hidden = l + 1 < mlp.layers.len();
        let requant = if hidden {
            let out_scale = max_act[l].max(1e-12) / 127.0;
            let requant = to_multiplier(acc_scale / out_scale);
            input_scale = out_scale;
            Some(requant)
        } else {
            logit_scale = acc_scale;
            None
        };
        layers.push(LayerJson {
            inputs: layer.inputs,
            outputs: layer.outputs,
            weights,
            biases,
            requant,
        });
    }
    let view = ModelJson {
        format: "WMLP".into(),
        version: 1,
        layers,
    };
    (
        Model::from_json(&view).expect("quantized model is valid"),
        logit_scale,
    )
}

fn kind_index(kind: ActionKind) -> usize {
    usize::from(kind.code())
}

fn main() {
    let mut out: Option<PathBuf> = None;
    let mut check: Option<PathBuf> = None;
    let mut solidity: Option<PathBuf> = None;
    let mut json: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || PathBuf::from(args.next().expect("missing value"));
        match arg.as_str() {
            "--out" => out = Some(value()),
            "--check" => check = Some(value()),
            "--solidity" => solidity = Some(value()),
            "--json" => json = Some(value()),
            other => panic!(
                "unknown argument {other}; usage: train_reference [--out FILE] [--check FILE] [--solidity FILE] [--json FILE]"
            ),
        }
    }

    let mut rng = Rng(SplitMix64::new(SEED));
    let train: Vec<Sample> = (0..TRAIN).map(|_| sample(&mut rng)).collect();
    let test: Vec<Sample> = (0..TEST).map(|_| sample(&mut rng)).collect();
    let mut counts = [0usize; NUM_ACTIONS];
    for s in &train {
        counts[s.label] += 1;
    }
    eprintln!("training labels (hold, buy, sell): {counts:?}");
    // Balance the classes so the rarer trades are not drowned by holds.
    let mut class_weight = [0.0; NUM_ACTIONS];
    for (w, &c) in class_weight.iter_mut().zip(&counts) {
        *w = TRAIN as f64 / (NUM_ACTIONS as f64 * c.max(1) as f64);
    }

    let mut dims = vec![NUM_FEATURES];
    dims.extend(HIDDEN);
    dims.push(NUM_ACTIONS);
    let mut mlp = Mlp {
        layers: dims
            .windows(2)
            .map(|d| Dense::new(&mut rng, d[0], d[1]))
            .collect(),
    };
    let mut order: Vec<usize> = (0..TRAIN).collect();
    for epoch in 0..EPOCHS {
        // Fisher–Yates with the same PRNG.
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&Sample> = chunk.iter().map(|&i| &train[i]).collect();
            mlp.train_batch(&batch, &class_weight);
        }
        if epoch % 5 == 4 || epoch + 1 == EPOCHS {
            let correct = test.iter().filter(|s| mlp.predict(&s.x) == s.label).count();
            eprintln!(
                "epoch {:>2}: float test accuracy {:.3}",
                epoch + 1,
                correct as f64 / TEST as f64
            );
        }
    }

    let (model, logit_scale) = quantize(&mlp, &train);
    let mut agree = 0;
    let mut correct = 0;
    let mut confusion = [[0usize; NUM_ACTIONS]; NUM_ACTIONS];
    for s in &test {
        let (kind, _) = decide(&model.forward(&s.features));
        let q = kind_index(kind);
        agree += usize::from(q == mlp.predict(&s.x));
        correct += usize::from(q == s.label);
        confusion[s.label][q] += 1;
    }
    eprintln!(
        "quantized: test accuracy {:.3}, agrees with the float model on {:.3}",
        correct as f64 / TEST as f64,
        agree as f64 / TEST as f64
    );
    eprintln!("confusion (rows: label hold/buy/sell, columns: decision): {confusion:?}");
    eprintln!("features: {FEATURE_NAMES:?}");
    let size_bps_per_logit = (MAX_SIZE_BPS * logit_scale / FULL_SIZE_MARGIN)
        .round()
        .max(1.0);
    eprintln!(
        "one logit unit = {logit_scale:.3e}; suggested sizeBpsPerLogit = {size_bps_per_logit} (maxSizeBps {MAX_SIZE_BPS})"
    );

    let bytes = model.to_bytes();
    eprintln!("model: {} bytes, hash {}", bytes.len(), model.hash());
    if let Some(path) = &out {
        std::fs::write(path, &bytes).expect("write model");
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &json {
        std::fs::write(path, json_source(&model.to_json())).expect("write json");
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &solidity {
        std::fs::write(path, solidity_source(&bytes)).expect("write solidity");
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &check {
        let existing = std::fs::read(path).expect("read model to check");
        if existing != bytes {
            eprintln!("{} differs from the trained model", path.display());
            std::process::exit(1);
        }
        eprintln!("{} is reproduced exactly", path.display());
    }
}

/// The JSON view with one weight row per line (serde's pretty printer puts every number on its
/// own line).
fn json_source(view: &ModelJson) -> String {
    let mut out = format!(
        "{{\n  \"format\": {},\n  \"version\": {},\n  \"layers\": [\n",
        compact(&view.format),
        view.version
    );
    for (l, layer) in view.layers.iter().enumerate() {
        out.push_str(&format!(
            "    {{\n      \"inputs\": {},\n      \"outputs\": {},\n      \"weights\": [\n",
            layer.inputs, layer.outputs
        ));
        for (j, row) in layer.weights.iter().enumerate() {
            let sep = if j + 1 == layer.weights.len() {
                ""
            } else {
                ","
            };
            out.push_str(&format!("        {}{sep}\n", compact(row)));
        }
        out.push_str(&format!(
            "      ],\n      \"biases\": {}",
            compact(&layer.biases)
        ));
        if let Some(requant) = &layer.requant {
            out.push_str(&format!(",\n      \"requant\": {}", compact(requant)));
        }
        let sep = if l + 1 == view.layers.len() { "" } else { "," };
        out.push_str(&format!("\n    }}{sep}\n"));
    }
    out.push_str("  ]\n}\n");
    out
}

/// Compact JSON of a value.
fn compact<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("json")
}

/// The model as a Solidity constant, for forge tests (forge fmt style, 110 columns).
fn solidity_source(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // Laid out exactly as `forge fmt` lays it out, so the generated file passes `forge fmt --check`.
    let chunks: Vec<&str> = hex
        .as_bytes()
        .chunks(96)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    let mut lines = String::new();
    for (i, chunk) in chunks.iter().enumerate() {
        lines.push_str(if i == 0 {
            "        return hex\""
        } else {
            "            hex\""
        });
        lines.push_str(chunk);
        lines.push_str(if i + 1 == chunks.len() {
            "\";\n"
        } else {
            "\"\n"
        });
    }
    format!(
        "// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

// Generated by `cargo run -p warden-agent --example train_reference -- --solidity <this file>`;
// crates/agent/tests/reference_model.rs fails if it drifts from crates/agent/models/reference.wmlp.

/// @dev The reference WMLP model, for the forge tests.
library ReferenceModel {{
    function bytes_() internal pure returns (bytes memory) {{
{lines}    }}
}}
"
    )
}
