//! The int8-quantized MLP: its canonical binary format ("WMLP" v1), validation and the integer
//! forward pass. `contracts/src/agent/MlpPolicy.sol` parses and evaluates the very same bytes.
//!
//! # Format
//!
//! All integers big-endian; offsets in bytes.
//!
//! ```text
//! 0        4  magic "WMLP"
//! 4        1  version = 1
//! 5        1  L, the number of weight layers (hidden layers + output layer), 2..=5
//! 6        L+1 dims d_0 .. d_L (u8): d_0 = NUM_FEATURES (9), d_L = NUM_ACTIONS (3),
//!             hidden d_1 .. d_{L-1} in 1..=64
//! then for each layer l = 0 .. L-1 (inputs n = d_l, outputs m = d_{l+1}):
//!          m*n  weights, int8, row-major by output neuron (row j feeds neuron j)
//!          4*m  biases, int32 two's complement
//!          hidden layers only (l < L-1):
//!          4    multiplier, int32, 1 ..= 2^31 - 1
//!          1    shift, u8, 1 ..= 62
//! no trailing bytes
//! ```
//!
//! `model_hash = keccak256(bytes)`; since parsing accepts exactly one byte string per model, the
//! hash commits to the model.
//!
//! # Arithmetic
//!
//! For each layer and neuron `j`: `acc_j = bias_j + Σ_i w_ji · x_i`, exact. A hidden layer then
//! requantizes `y_j = clamp(floor((acc_j · multiplier + 2^(shift-1)) / 2^shift), -128, 127)`
//! (round half up; the division is an arithmetic shift right, i.e. floor, also for negative
//! values) and applies ReLU, so hidden activations lie in `[0, 127]`. The output layer's
//! accumulators are the three logits `(hold, buy, sell)`.
//!
//! Inputs of every layer lie in `[-127, 127]` (features) or `[0, 127]` (hidden activations), so
//! `|acc_j| <= |bias_j| + 127 · Σ_i |w_ji|`. Validation requires that bound to be at most
//! `2^31 - 1` for every neuron: every accumulator is then an int32 for *every* input, and the
//! Solidity version (int256) and this one (i64) cannot disagree through overflow. With
//! `|acc| < 2^31` and `multiplier < 2^31`, `acc · multiplier + 2^61 < 2^63` fits an i64.

use alloy::primitives::{B256, keccak256};
use serde::{Deserialize, Serialize};

/// Number of features the policy computes: the input width of every model.
pub const NUM_FEATURES: usize = 9;
/// Number of logits: hold, buy, sell.
pub const NUM_ACTIONS: usize = 3;
/// The file's first four bytes.
pub const MAGIC: [u8; 4] = *b"WMLP";
/// The only format version.
pub const FORMAT_VERSION: u8 = 1;
/// Widest hidden layer.
pub const MAX_HIDDEN_DIM: usize = 64;
/// Fewest weight layers (one hidden layer and the output layer).
pub const MIN_LAYERS: usize = 2;
/// Most weight layers (four hidden layers and the output layer).
pub const MAX_LAYERS: usize = 5;
/// Smallest requantization shift (a shift of 0 would have no rounding term).
pub const MIN_SHIFT: u8 = 1;
/// Largest requantization shift: keeps `acc · multiplier + 2^(shift-1)` below 2^63.
pub const MAX_SHIFT: u8 = 62;
/// Largest magnitude of any layer input.
pub const MAX_ACTIVATION: u64 = 127;
/// Largest allowed accumulator bound, `i32::MAX`.
pub const MAX_ACCUMULATOR: u64 = i32::MAX as u64;

const HEADER_LEN: usize = 6;

/// A model whose bytes are not a valid WMLP v1 file. Each variant corresponds to the custom
/// error of the same name in `MlpPolicy.sol`, with the same fields, and the checks run in the
/// same order, so both implementations reject a bad file with the same error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The file ends before the header, the dims or the layers it declares.
    #[error("model truncated: {length} bytes, at least {needed} needed")]
    ModelTruncated {
        /// Length of the file.
        length: usize,
        /// Length the part read so far requires.
        needed: usize,
    },
    /// The file does not start with "WMLP".
    #[error("not a WMLP model (bad magic)")]
    BadModelMagic,
    /// A version other than 1.
    #[error("unsupported model format version {0}")]
    UnsupportedModelVersion(u8),
    /// A number of weight layers outside 2..=5.
    #[error("model has {0} weight layers, expected 2..=5")]
    BadLayerCount(u8),
    /// A dimension other than 9 (input), 3 (output) or 1..=64 (hidden).
    #[error("dimension {index} of the model is {dim}: input must be 9, output 3, hidden 1..=64")]
    BadLayerDim {
        /// Position in the dims list (0 = input).
        index: usize,
        /// The declared dimension.
        dim: u8,
    },
    /// Bytes after the last layer.
    #[error("model has {length} bytes, its dims describe exactly {expected}")]
    ModelTrailingBytes {
        /// Length of the file.
        length: usize,
        /// Length its dims imply.
        expected: usize,
    },
    /// A neuron whose accumulator could leave the int32 range for some input.
    #[error(
        "layer {layer} neuron {neuron}: |bias| + 127·Σ|w| = {bound} exceeds 2^31-1, the accumulator could overflow int32"
    )]
    AccumulatorOutOfRange {
        /// Weight layer (0-based).
        layer: usize,
        /// Neuron within the layer (0-based).
        neuron: usize,
        /// `|bias| + 127 · Σ |w|`.
        bound: u64,
    },
    /// A requantization multiplier that is not a positive int32 (raw big-endian u32 shown).
    #[error("layer {layer}: requantization multiplier {multiplier:#x} is not in 1..=2^31-1")]
    BadMultiplier {
        /// Weight layer (0-based).
        layer: usize,
        /// The raw 32-bit field.
        multiplier: u32,
    },
    /// A requantization shift outside 1..=62.
    #[error("layer {layer}: requantization shift {shift} is not in 1..=62")]
    BadShift {
        /// Weight layer (0-based).
        layer: usize,
        /// The declared shift.
        shift: u8,
    },
    /// A JSON view that does not describe a model.
    #[error("model JSON: {0}")]
    Json(String),
}

/// Fixed-point requantization of a hidden layer: `y = round(acc · multiplier / 2^shift)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Requant {
    /// Positive int32 multiplier.
    pub multiplier: i32,
    /// Right shift, 1..=62.
    pub shift: u8,
}

impl Requant {
    /// Requantizes one accumulator and applies ReLU: `clamp(round_half_up(acc · m / 2^s), 0, 127)`.
    ///
    /// `acc` must be an int32 and the parameters valid (guaranteed for a validated model), so the
    /// i64 arithmetic cannot overflow.
    fn apply(self, acc: i64) -> i64 {
        let rounding = 1i64 << (self.shift - 1);
        // `>>` on i64 is an arithmetic shift: floor division by 2^shift, like Solidity's `>>` on int256.
        let y = (acc * i64::from(self.multiplier) + rounding) >> self.shift;
        // clamp(y, -128, 127) followed by ReLU.
        y.clamp(0, MAX_ACTIVATION as i64)
    }
}

/// One weight layer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Layer {
    inputs: usize,
    outputs: usize,
    /// `outputs × inputs`, row-major by output neuron.
    weights: Vec<i8>,
    biases: Vec<i32>,
    /// `None` exactly for the output layer.
    requant: Option<Requant>,
}

impl Layer {
    /// Input width.
    pub fn inputs(&self) -> usize {
        self.inputs
    }
    /// Output width.
    pub fn outputs(&self) -> usize {
        self.outputs
    }
    /// Weights, `outputs × inputs`, row-major by output neuron.
    pub fn weights(&self) -> &[i8] {
        &self.weights
    }
    /// One int32 bias per output.
    pub fn biases(&self) -> &[i32] {
        &self.biases
    }
    /// Requantization of a hidden layer; `None` for the output layer.
    pub fn requant(&self) -> Option<Requant> {
        self.requant
    }

    /// Accumulators for `x`, each `bias + Σ w·x`, exact in i64.
    fn accumulate(&self, x: &[i64]) -> Vec<i64> {
        self.weights
            .chunks_exact(self.inputs)
            .zip(&self.biases)
            .map(|(row, &bias)| {
                row.iter()
                    .zip(x)
                    .fold(i64::from(bias), |acc, (&w, &xi)| acc + i64::from(w) * xi)
            })
            .collect()
    }
}

/// A validated WMLP model. Only [`Model::from_bytes`] (and the JSON view, which goes through it)
/// creates one, so every `Model` is valid and has exactly one byte encoding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Model {
    bytes: Vec<u8>,
    layers: Vec<Layer>,
}

/// A cursor over the model bytes that reports truncation as [`ModelError::ModelTruncated`].
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        // The total length is checked against the dims before any layer is read.
        let out = self.bytes.get(self.pos..self.pos + n).unwrap_or(&[]);
        self.pos += n;
        out
    }

    fn u32(&mut self) -> u32 {
        let b = self.take(4);
        match <[u8; 4]>::try_from(b) {
            Ok(word) => u32::from_be_bytes(word),
            Err(_) => 0,
        }
    }
}

impl Model {
    /// Parses and validates a WMLP v1 file (see the module docs), with the checks in the order
    /// `MlpPolicy.validateModel` performs them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let length = bytes.len();
        if length < HEADER_LEN {
            return Err(ModelError::ModelTruncated {
                length,
                needed: HEADER_LEN,
            });
        }
        if bytes[..4] != MAGIC {
            return Err(ModelError::BadModelMagic);
        }
        if bytes[4] != FORMAT_VERSION {
            return Err(ModelError::UnsupportedModelVersion(bytes[4]));
        }
        let layer_count = bytes[5];
        if !(MIN_LAYERS..=MAX_LAYERS).contains(&usize::from(layer_count)) {
            return Err(ModelError::BadLayerCount(layer_count));
        }
        let layer_count = usize::from(layer_count);
        let dims_end = HEADER_LEN + layer_count + 1;
        if length < dims_end {
            return Err(ModelError::ModelTruncated {
                length,
                needed: dims_end,
            });
        }
        let dims = &bytes[HEADER_LEN..dims_end];
        for (index, &dim) in dims.iter().enumerate() {
            let d = usize::from(dim);
            let valid = if index == 0 {
                d == NUM_FEATURES
            } else if index == layer_count {
                d == NUM_ACTIONS
            } else {
                (1..=MAX_HIDDEN_DIM).contains(&d)
            };
            if !valid {
                return Err(ModelError::BadLayerDim { index, dim });
            }
        }
        let expected = dims_end + (0..layer_count).map(|l| layer_len(dims, l)).sum::<usize>();
        if length < expected {
            return Err(ModelError::ModelTruncated {
                length,
                needed: expected,
            });
        }
        if length > expected {
            return Err(ModelError::ModelTrailingBytes { length, expected });
        }

        let mut reader = Reader {
            bytes,
            pos: dims_end,
        };
        let mut layers = Vec::with_capacity(layer_count);
        for layer in 0..layer_count {
            let inputs = usize::from(dims[layer]);
            let outputs = usize::from(dims[layer + 1]);
            let weights: Vec<i8> = reader
                .take(inputs * outputs)
                .iter()
                .map(|&b| b as i8)
                .collect();
            let biases: Vec<i32> = (0..outputs).map(|_| reader.u32() as i32).collect();
            for (neuron, (row, &bias)) in weights.chunks_exact(inputs).zip(&biases).enumerate() {
                let weight_sum: u64 = row.iter().map(|&w| u64::from(w.unsigned_abs())).sum();
                let bound = u64::from(bias.unsigned_abs()) + MAX_ACTIVATION * weight_sum;
                if bound > MAX_ACCUMULATOR {
                    return Err(ModelError::AccumulatorOutOfRange {
                        layer,
                        neuron,
                        bound,
                    });
                }
            }
            let requant = if layer + 1 < layer_count {
                let multiplier = reader.u32();
                if multiplier == 0 || multiplier > i32::MAX as u32 {
                    return Err(ModelError::BadMultiplier { layer, multiplier });
                }
                let shift = reader.take(1).first().copied().unwrap_or(0);
                if !(MIN_SHIFT..=MAX_SHIFT).contains(&shift) {
                    return Err(ModelError::BadShift { layer, shift });
                }
                Some(Requant {
                    multiplier: multiplier as i32,
                    shift,
                })
            } else {
                None
            };
            layers.push(Layer {
                inputs,
                outputs,
                weights,
                biases,
                requant,
            });
        }
        Ok(Self {
            bytes: bytes.to_vec(),
            layers,
        })
    }

    /// The canonical bytes (exactly those it was parsed from).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// The canonical bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `keccak256(bytes)`.
    pub fn hash(&self) -> B256 {
        keccak256(&self.bytes)
    }

    /// The weight layers, input to output.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Weights and biases, over every layer.
    pub fn parameters(&self) -> usize {
        self.layers
            .iter()
            .map(|layer| layer.weights().len() + layer.biases().len())
            .sum()
    }

    /// The integer forward pass: the logits `(hold, buy, sell)` for `features`.
    pub fn forward(&self, features: &[i8; NUM_FEATURES]) -> [i32; NUM_ACTIONS] {
        let mut x: Vec<i64> = features.iter().map(|&f| i64::from(f)).collect();
        for layer in &self.layers {
            let acc = layer.accumulate(&x);
            x = match layer.requant {
                Some(requant) => acc.into_iter().map(|a| requant.apply(a)).collect(),
                None => acc,
            };
        }
        let mut logits = [0i32; NUM_ACTIONS];
        for (logit, &acc) in logits.iter_mut().zip(&x) {
            // Validation bounds every accumulator to int32, so the clamp never changes a value.
            *logit = acc.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        }
        logits
    }

    /// A human-readable view (weights as nested rows). Not canonical: hash the bytes, not this.
    pub fn to_json(&self) -> ModelJson {
        ModelJson {
            format: "WMLP".into(),
            version: FORMAT_VERSION,
            layers: self
                .layers
                .iter()
                .map(|layer| LayerJson {
                    inputs: layer.inputs,
                    outputs: layer.outputs,
                    weights: layer
                        .weights
                        .chunks_exact(layer.inputs)
                        .map(<[i8]>::to_vec)
                        .collect(),
                    biases: layer.biases.clone(),
                    requant: layer.requant,
                })
                .collect(),
        }
    }

    /// Builds the model a JSON view describes, validating it exactly like [`Model::from_bytes`].
    pub fn from_json(view: &ModelJson) -> Result<Self, ModelError> {
        if view.format != "WMLP" {
            return Err(ModelError::Json(format!("format {:?}", view.format)));
        }
        let too_big = |what: &str| ModelError::Json(format!("{what} does not fit a u8"));
        let mut bytes = MAGIC.to_vec();
        bytes.push(view.version);
        bytes.push(u8::try_from(view.layers.len()).map_err(|_| too_big("layer count"))?);
        if let Some(first) = view.layers.first() {
            bytes.push(u8::try_from(first.inputs).map_err(|_| too_big("input width"))?);
        }
        for (l, layer) in view.layers.iter().enumerate() {
            bytes.push(u8::try_from(layer.outputs).map_err(|_| too_big("layer width"))?);
            if l > 0 && layer.inputs != view.layers[l - 1].outputs {
                return Err(ModelError::Json(format!(
                    "layer {l} has {} inputs, the previous layer {} outputs",
                    layer.inputs,
                    view.layers[l - 1].outputs
                )));
            }
        }
        for (l, layer) in view.layers.iter().enumerate() {
            if layer.weights.len() != layer.outputs
                || layer.weights.iter().any(|row| row.len() != layer.inputs)
                || layer.biases.len() != layer.outputs
            {
                return Err(ModelError::Json(format!(
                    "layer {l}: weights must be {}×{} and biases {}",
                    layer.outputs, layer.inputs, layer.outputs
                )));
            }
            bytes.extend(layer.weights.iter().flatten().map(|&w| w as u8));
            for bias in &layer.biases {
                bytes.extend_from_slice(&bias.to_be_bytes());
            }
            let hidden = l + 1 < view.layers.len();
            match (hidden, layer.requant) {
                (true, Some(requant)) => {
                    bytes.extend_from_slice(&requant.multiplier.to_be_bytes());
                    bytes.push(requant.shift);
                }
                (false, None) => {}
                (true, None) => {
                    return Err(ModelError::Json(format!("hidden layer {l} needs requant")));
                }
                (false, Some(_)) => {
                    return Err(ModelError::Json("the output layer has no requant".into()));
                }
            }
        }
        Self::from_bytes(&bytes)
    }
}

/// Length in bytes of weight layer `l` given the dims list.
fn layer_len(dims: &[u8], l: usize) -> usize {
    let inputs = usize::from(dims[l]);
    let outputs = usize::from(dims[l + 1]);
    let requant = if l + 2 < dims.len() { 5 } else { 0 };
    inputs * outputs + 4 * outputs + requant
}

/// JSON view of a model, for humans and tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelJson {
    /// Always "WMLP".
    pub format: String,
    /// Format version.
    pub version: u8,
    /// Weight layers, input to output.
    pub layers: Vec<LayerJson>,
}

/// JSON view of one weight layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerJson {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// `outputs` rows of `inputs` weights.
    pub weights: Vec<Vec<i8>>,
    /// One bias per output.
    pub biases: Vec<i32>,
    /// Present exactly for hidden layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requant: Option<Requant>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 9 → 2 → 3 model with every field distinguishable.
    fn tiny() -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend([1, 2, 9, 2, 3]);
        b.extend((0..18).map(|i| (i as i8 - 9) as u8));
        b.extend(100i32.to_be_bytes());
        b.extend((-100i32).to_be_bytes());
        b.extend((1u32 << 30).to_be_bytes());
        b.push(31);
        b.extend([1u8, 255, 2, 254, 3, 253]);
        b.extend(7i32.to_be_bytes());
        b.extend(0i32.to_be_bytes());
        b.extend((-7i32).to_be_bytes());
        b
    }

    #[test]
    fn round_trips_bytes_and_json() {
        let bytes = tiny();
        let model = Model::from_bytes(&bytes).unwrap();
        assert_eq!(model.to_bytes(), bytes);
        assert_eq!(model.hash(), keccak256(&bytes));
        let json = serde_json::to_string(&model.to_json()).unwrap();
        let view: ModelJson = serde_json::from_str(&json).unwrap();
        assert_eq!(Model::from_json(&view).unwrap(), model);
    }

    #[test]
    fn forward_matches_a_hand_computation() {
        let model = Model::from_bytes(&tiny()).unwrap();
        let features = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        // Neuron 0: weights -9..-1, bias 100: 100 + Σ (i-9)(i+1) for i in 0..9 = 100 - 165 = -65.
        // Neuron 1: weights 0..8, bias -100: -100 + Σ i(i+1) = -100 + 240 = 140.
        // Requant by 2^30 / 2^31 = 1/2, round half up: -65 → -32 → ReLU 0; 140 → 70.
        // Output: (1·0 - 1·70 + 7, 2·0 - 2·70 + 0, 3·0 - 3·70 - 7).
        assert_eq!(model.forward(&features), [-63, -140, -217]);
    }

    #[test]
    fn requant_rounds_half_up_with_floor_shift() {
        let r = Requant {
            multiplier: 1,
            shift: 1,
        };
        // (acc + 1) >> 1: 3 → 2, 1 → 1, and negative values go to 0 through ReLU.
        assert_eq!(r.apply(3), 2);
        assert_eq!(r.apply(1), 1);
        assert_eq!(r.apply(-1), 0);
        let big = Requant {
            multiplier: i32::MAX,
            shift: 62,
        };
        assert_eq!(big.apply(i64::from(i32::MAX)), 1);
        assert_eq!(big.apply(i64::from(i32::MIN) + 1), 0);
        assert_eq!(
            Requant {
                multiplier: 1000,
                shift: 1
            }
            .apply(1000),
            127
        );
    }

    #[test]
    fn rejects_each_malformation() {
        let good = tiny();
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            Model::from_bytes(&b).unwrap_err()
        };
        assert_eq!(
            Model::from_bytes(&good[..5]).unwrap_err(),
            ModelError::ModelTruncated {
                length: 5,
                needed: 6
            }
        );
        assert_eq!(with(&|b| b[0] = b'X'), ModelError::BadModelMagic);
        assert_eq!(with(&|b| b[4] = 2), ModelError::UnsupportedModelVersion(2));
        assert_eq!(with(&|b| b[5] = 1), ModelError::BadLayerCount(1));
        assert_eq!(with(&|b| b[5] = 6), ModelError::BadLayerCount(6));
        assert_eq!(
            with(&|b| b.truncate(8)),
            ModelError::ModelTruncated {
                length: 8,
                needed: 9
            }
        );
        assert_eq!(
            with(&|b| b[6] = 8),
            ModelError::BadLayerDim { index: 0, dim: 8 }
        );
        assert_eq!(
            with(&|b| b[7] = 0),
            ModelError::BadLayerDim { index: 1, dim: 0 }
        );
        assert_eq!(
            with(&|b| b[7] = 65),
            ModelError::BadLayerDim { index: 1, dim: 65 }
        );
        assert_eq!(
            with(&|b| b[8] = 2),
            ModelError::BadLayerDim { index: 2, dim: 2 }
        );
        let len = good.len();
        assert_eq!(
            with(&|b| {
                b.pop();
            }),
            ModelError::ModelTruncated {
                length: len - 1,
                needed: len
            }
        );
        assert_eq!(
            with(&|b| b.push(0)),
            ModelError::ModelTrailingBytes {
                length: len + 1,
                expected: len
            }
        );
        // First bias (offset 9 + 18) set to i32::MAX: 2^31 - 1 + 127·45 overflows.
        assert_eq!(
            with(&|b| b[27..31].copy_from_slice(&i32::MAX.to_be_bytes())),
            ModelError::AccumulatorOutOfRange {
                layer: 0,
                neuron: 0,
                bound: i32::MAX as u64 + 127 * 45
            }
        );
        assert_eq!(
            with(&|b| b[35..39].copy_from_slice(&0u32.to_be_bytes())),
            ModelError::BadMultiplier {
                layer: 0,
                multiplier: 0
            }
        );
        assert_eq!(
            with(&|b| b[35..39].copy_from_slice(&(1u32 << 31).to_be_bytes())),
            ModelError::BadMultiplier {
                layer: 0,
                multiplier: 1 << 31
            }
        );
        assert_eq!(
            with(&|b| b[39] = 0),
            ModelError::BadShift { layer: 0, shift: 0 }
        );
        assert_eq!(
            with(&|b| b[39] = 63),
            ModelError::BadShift {
                layer: 0,
                shift: 63
            }
        );
        // The output layer's bias (i32::MIN) has |bias| = 2^31 alone.
        assert!(matches!(
            with(&|b| b[46..50].copy_from_slice(&i32::MIN.to_be_bytes())),
            ModelError::AccumulatorOutOfRange {
                layer: 1,
                neuron: 0,
                ..
            }
        ));
    }
}
