//! Deterministic integer networks of any size ("WNET" v1), committed chunk by chunk, for agents
//! far larger than the reference MLP ([`crate::model`]) whose fraud a challenger still proves in
//! one transaction (issue #14).
//!
//! A network is a stack of dense layers over int8 activations. Every layer's outputs are cut into
//! chunks of `R` consecutive neurons (the last chunk may be shorter), and the same cut splits the
//! weights: the chunk of a layer's weights that computes an output chunk is its `R` weight rows and
//! their biases. The network commits to its weights by a Merkle root over those weight chunks, and
//! a run of the network commits to its intermediate results by the hashes of its output chunks,
//! the *trace*. Proving one output chunk wrong then takes the layer's input (itself committed by
//! the trace, or the input for layer 0), one weight chunk and its Merkle proof: work and calldata
//! bounded by `R` times the layer's input width, whatever the size of the network.
//!
//! # Format
//!
//! All integers big-endian; offsets in bytes.
//!
//! ```text
//! 0    4  magic "WNET"
//! 4    1  version = 1
//! 5    1  L, the number of layers, 1..=64
//! 6    4  n_0, the input width, 1..=65,536
//! 10   2  R, neurons per chunk, 1..=4,096
//! 12   1  decoder: 1 = three logits (hold, buy, sell), as the reference policy decodes them
//! 13   then L layer headers of 10 bytes each:
//!        1  kind: 0 = dense, 1 = residual (adds the layer's input; outputs = inputs)
//!        4  m, the outputs, 1..=65,536
//!        4  multiplier, int32, 1..=2^31-1 (0 for the last layer, which does not requantize)
//!        1  shift, 1..=62 (0 for the last layer)
//! then the weights, layer by layer, chunk by chunk: for the chunk of neurons [kR, min(kR+R, m))
//!        r·n  weights, int8, row-major (row j feeds neuron kR+j), n the layer's input width
//!        4·r  biases, int32 two's complement
//! no trailing bytes
//! ```
//!
//! # Arithmetic
//!
//! Inputs lie in `[-127, 127]`. For neuron `j` of a layer, `acc_j = bias_j + Σ_i w_ji · x_i`,
//! exact. A hidden layer (every layer but the last) outputs
//! `y_j = clamp(floor((acc_j · multiplier + 2^(shift-1)) / 2^shift) + r_j, 0, 127)`, where `r_j` is
//! the layer's input `x_j` for a residual layer and 0 for a dense one: requantization rounding half
//! up, the residual connection, ReLU and saturation in one step. The last layer outputs its
//! accumulators, the logits. Validation requires `|bias_j| + 127 · Σ_i |w_ji| ≤ 2^31 - 1` for every
//! neuron, so every accumulator is an int32 for every input and `acc · multiplier + 2^61` fits an
//! i64, as in the reference MLP.
//!
//! # Commitments
//!
//! - A weight chunk's leaf is `keccak256` of its bytes as the file holds them (rows, then biases).
//!   The leaves, in file order, are padded with zero words to a power of two, and each parent is
//!   `keccak256(left ‖ right)`: the root is [`Network::weights_root`].
//! - [`Network::hash`] is `keccak256(header ‖ root)`, the header being the file's bytes before the
//!   weights: it binds the architecture, the quantization, the decoder and every weight.
//! - An output chunk's hash is `keccak256(layer ‖ chunk ‖ values)`, `layer` a big-endian u16,
//!   `chunk` a big-endian u32, and the values one byte per hidden activation or four big-endian
//!   bytes per logit. The trace is the list of chunk hashes, layer by layer; its hash is
//!   `keccak256` of their concatenation ([`Trace::hash`]).

use alloy::primitives::{B256, keccak256};

use crate::splitmix::SplitMix64;

/// The file's first four bytes.
pub const MAGIC: [u8; 4] = *b"WNET";
/// The only format version.
pub const FORMAT_VERSION: u8 = 1;
/// Most layers.
pub const MAX_LAYERS: usize = 64;
/// Widest input or layer.
pub const MAX_WIDTH: usize = 65_536;
/// Most neurons per chunk.
pub const MAX_CHUNK_ROWS: usize = 4_096;
/// The decoder of the reference policy: three logits, hold, buy and sell.
pub const DECODER_THREE_LOGITS: u8 = 1;
/// Largest magnitude of an input or a hidden activation.
pub const MAX_ACTIVATION: i64 = 127;
/// Largest allowed accumulator bound, `i32::MAX`.
pub const MAX_ACCUMULATOR: u64 = i32::MAX as u64;
/// Smallest and largest requantization shift of a hidden layer.
pub const SHIFTS: std::ops::RangeInclusive<u8> = 1..=62;

const FIXED_HEADER_LEN: usize = 13;
const LAYER_HEADER_LEN: usize = 10;

/// Why bytes are not a WNET v1 network. Each names the first problem found, reading the file in
/// order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    #[error("network file truncated: {length} bytes, at least {needed} needed")]
    Truncated { length: usize, needed: usize },
    #[error("not a WNET network file (magic {found:02x?}, expected \"WNET\")")]
    BadMagic { found: [u8; 4] },
    #[error("unsupported WNET version {0} (this build reads version {FORMAT_VERSION})")]
    UnsupportedVersion(u8),
    #[error("{0} layers: a network has 1 to {MAX_LAYERS}")]
    LayerCount(usize),
    #[error("input width {0}: must be 1 to {MAX_WIDTH}")]
    InputWidth(usize),
    #[error("{0} neurons per chunk: must be 1 to {MAX_CHUNK_ROWS}")]
    ChunkRows(usize),
    #[error("unknown decoder {0} (1 = three logits: hold, buy, sell)")]
    UnknownDecoder(u8),
    #[error("layer {layer}: unknown kind {kind} (0 = dense, 1 = residual)")]
    UnknownKind { layer: usize, kind: u8 },
    #[error("layer {layer}: {outputs} outputs: must be 1 to {MAX_WIDTH}")]
    Width { layer: usize, outputs: usize },
    #[error(
        "layer {layer}: a residual layer needs as many outputs as inputs ({inputs}), not {outputs}"
    )]
    ResidualWidth {
        layer: usize,
        inputs: usize,
        outputs: usize,
    },
    #[error("layer {layer}: the last layer outputs logits and cannot be residual")]
    ResidualOutput { layer: usize },
    #[error(
        "layer {layer}: multiplier {multiplier} and shift {shift} (a hidden layer needs a multiplier of 1 to 2^31-1 and a shift of 1 to 62; the last layer 0 and 0)"
    )]
    Requantization {
        layer: usize,
        multiplier: i32,
        shift: u8,
    },
    #[error("the decoder reads {expected} logits; the last layer has {outputs}")]
    DecoderWidth { expected: usize, outputs: usize },
    #[error("layer {layer}, neuron {neuron}: accumulator bound {bound} exceeds 2^31-1")]
    AccumulatorBound {
        layer: usize,
        neuron: usize,
        bound: u64,
    },
    #[error("{0} bytes after the last layer's weights")]
    TrailingBytes(usize),
    #[error(
        "a weight chunk of {length} bytes is not one or more whole rows of {inputs} weights and a bias"
    )]
    MalformedChunk { length: usize, inputs: usize },
    #[error(
        "a residual chunk of {rows} neurons from neuron {first_neuron} reaches past the layer's {inputs} inputs"
    )]
    ResidualRange {
        first_neuron: usize,
        rows: usize,
        inputs: usize,
    },
    #[error("input of {actual} values for a network of input width {expected}")]
    InputLength { expected: usize, actual: usize },
    #[error("input value {value} at {index} is outside [-127, 127]")]
    InputRange { index: usize, value: i8 },
}

/// What a layer does with its accumulators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// `y = relu(requant(W x + b))`, or the logits for the last layer.
    Dense,
    /// `y = relu(requant(W x + b) + x)`: outputs as wide as inputs.
    Residual,
}

/// One layer's shape and quantization; its weights stay in the file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerShape {
    pub kind: LayerKind,
    pub inputs: usize,
    pub outputs: usize,
    /// Zero for the last layer.
    pub multiplier: i32,
    /// Zero for the last layer.
    pub shift: u8,
    /// Where the layer's first weight chunk starts in the file.
    offset: usize,
}

impl LayerShape {
    /// How many chunks the layer's outputs (and weights) are cut into.
    pub fn chunks(&self, rows: usize) -> usize {
        self.outputs.div_ceil(rows)
    }
}

/// A validated network: only [`Network::from_bytes`] makes one, so its bytes are canonical.
#[derive(Clone, PartialEq, Eq)]
pub struct Network {
    bytes: Vec<u8>,
    input_width: usize,
    rows: usize,
    decoder: u8,
    layers: Vec<LayerShape>,
    header_len: usize,
}

impl std::fmt::Debug for Network {
    // A network may be megabytes of weights: its summary, not its bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("input_width", &self.input_width)
            .field("rows", &self.rows)
            .field("layers", &self.layers)
            .field("parameters", &self.parameters())
            .finish()
    }
}

/// One hidden activation replaced in a run ([`Network::evaluate_altered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alteration {
    pub layer: usize,
    pub neuron: usize,
    /// The activation committed instead, clamped to the hidden range `[0, 127]`.
    pub value: i8,
}

/// The results of one run: every layer's output and the trace over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Each hidden layer's activations, in `[0, 127]`.
    pub hidden: Vec<Vec<i8>>,
    /// The last layer's accumulators.
    pub logits: Vec<i32>,
    pub trace: Trace,
}

/// The hashes of every output chunk, layer by layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// Per layer, its chunks' hashes in order.
    pub layers: Vec<Vec<B256>>,
}

impl Trace {
    /// `keccak256` of every chunk hash, concatenated in order: what a signed digest binds.
    pub fn hash(&self) -> B256 {
        let mut concatenated = Vec::with_capacity(self.len() * 32);
        for hash in self.layers.iter().flatten() {
            concatenated.extend_from_slice(hash.as_slice());
        }
        keccak256(concatenated)
    }

    /// How many chunk hashes the trace holds.
    pub fn len(&self) -> usize {
        self.layers.iter().map(Vec::len).sum()
    }

    /// Whether the trace holds no chunk (never, for a valid network).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The hash of output chunk `chunk` of layer `layer`, whose values are `values` as the trace
/// encodes them (a byte per activation, four big-endian bytes per logit).
pub fn chunk_hash(layer: u16, chunk: u32, values: &[u8]) -> B256 {
    let mut preimage = Vec::with_capacity(6 + values.len());
    preimage.extend_from_slice(&layer.to_be_bytes());
    preimage.extend_from_slice(&chunk.to_be_bytes());
    preimage.extend_from_slice(values);
    keccak256(preimage)
}

/// Reads a big-endian integer of `N` bytes at `offset`, or says how long the file must be.
fn read<const N: usize>(bytes: &[u8], offset: usize) -> Result<[u8; N], NetworkError> {
    bytes
        .get(offset..offset + N)
        .and_then(|slice| slice.try_into().ok())
        .ok_or(NetworkError::Truncated {
            length: bytes.len(),
            needed: offset + N,
        })
}

impl Network {
    /// Parses and validates a WNET v1 file.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, NetworkError> {
        let magic = read::<4>(&bytes, 0)?;
        if magic != MAGIC {
            return Err(NetworkError::BadMagic { found: magic });
        }
        let [version] = read::<1>(&bytes, 4)?;
        if version != FORMAT_VERSION {
            return Err(NetworkError::UnsupportedVersion(version));
        }
        let [layer_count] = read::<1>(&bytes, 5)?;
        let layer_count = usize::from(layer_count);
        if !(1..=MAX_LAYERS).contains(&layer_count) {
            return Err(NetworkError::LayerCount(layer_count));
        }
        let input_width = u32::from_be_bytes(read::<4>(&bytes, 6)?) as usize;
        if !(1..=MAX_WIDTH).contains(&input_width) {
            return Err(NetworkError::InputWidth(input_width));
        }
        let rows = usize::from(u16::from_be_bytes(read::<2>(&bytes, 10)?));
        if !(1..=MAX_CHUNK_ROWS).contains(&rows) {
            return Err(NetworkError::ChunkRows(rows));
        }
        let [decoder] = read::<1>(&bytes, 12)?;
        if decoder != DECODER_THREE_LOGITS {
            return Err(NetworkError::UnknownDecoder(decoder));
        }
        let header_len = FIXED_HEADER_LEN + layer_count * LAYER_HEADER_LEN;
        let mut layers = Vec::with_capacity(layer_count);
        let mut inputs = input_width;
        let mut offset = header_len;
        for layer in 0..layer_count {
            let at = FIXED_HEADER_LEN + layer * LAYER_HEADER_LEN;
            let [kind] = read::<1>(&bytes, at)?;
            let kind = match kind {
                0 => LayerKind::Dense,
                1 => LayerKind::Residual,
                kind => return Err(NetworkError::UnknownKind { layer, kind }),
            };
            let outputs = u32::from_be_bytes(read::<4>(&bytes, at + 1)?) as usize;
            if !(1..=MAX_WIDTH).contains(&outputs) {
                return Err(NetworkError::Width { layer, outputs });
            }
            let last = layer + 1 == layer_count;
            if kind == LayerKind::Residual {
                if last {
                    return Err(NetworkError::ResidualOutput { layer });
                }
                if outputs != inputs {
                    return Err(NetworkError::ResidualWidth {
                        layer,
                        inputs,
                        outputs,
                    });
                }
            }
            let multiplier = i32::from_be_bytes(read::<4>(&bytes, at + 5)?);
            let [shift] = read::<1>(&bytes, at + 9)?;
            let valid = if last {
                multiplier == 0 && shift == 0
            } else {
                multiplier > 0 && SHIFTS.contains(&shift)
            };
            if !valid {
                return Err(NetworkError::Requantization {
                    layer,
                    multiplier,
                    shift,
                });
            }
            layers.push(LayerShape {
                kind,
                inputs,
                outputs,
                multiplier,
                shift,
                offset,
            });
            offset += outputs * (inputs + 4);
            inputs = outputs;
        }
        if inputs != 3 {
            return Err(NetworkError::DecoderWidth {
                expected: 3,
                outputs: inputs,
            });
        }
        if bytes.len() < offset {
            return Err(NetworkError::Truncated {
                length: bytes.len(),
                needed: offset,
            });
        }
        if bytes.len() > offset {
            return Err(NetworkError::TrailingBytes(bytes.len() - offset));
        }
        let network = Self {
            bytes,
            input_width,
            rows,
            decoder,
            layers,
            header_len,
        };
        network.check_accumulator_bounds()?;
        Ok(network)
    }

    /// How layer `layer` computes its outputs, as [`output_chunk`] takes it; `None` past the last.
    pub fn step(&self, layer: usize) -> Option<Step> {
        let shape = self.layers.get(layer)?;
        Some(Step {
            // Validation bounds the layer count to 64.
            index: layer as u16,
            last: layer + 1 == self.layers.len(),
            residual: shape.kind == LayerKind::Residual,
            multiplier: shape.multiplier,
            shift: shape.shift,
        })
    }

    /// The file's header: its bytes before the weights, what a verifier holds with the root.
    pub fn header(&self) -> &[u8] {
        &self.bytes[..self.header_len]
    }

    /// The file's bytes, canonical.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The width of the input vector.
    pub fn input_width(&self) -> usize {
        self.input_width
    }

    /// Neurons per chunk.
    pub fn chunk_rows(&self) -> usize {
        self.rows
    }

    /// The output chunks of every layer: a trace's length, and the number of weight leaves.
    pub fn chunk_count(&self) -> usize {
        self.layers
            .iter()
            .map(|shape| shape.chunks(self.rows))
            .sum()
    }

    /// The layer and chunk at position `index` of a trace (and of the weight leaves), layers in
    /// order and chunks in order; `None` past the last.
    pub fn chunk_position(&self, index: usize) -> Option<(usize, usize)> {
        let mut first = 0;
        for (layer, shape) in self.layers.iter().enumerate() {
            let chunks = shape.chunks(self.rows);
            if index < first + chunks {
                return Some((layer, index - first));
            }
            first += chunks;
        }
        None
    }

    /// The decoder byte.
    pub fn decoder(&self) -> u8 {
        self.decoder
    }

    /// The layers' shapes.
    pub fn layers(&self) -> &[LayerShape] {
        &self.layers
    }

    /// Weights and biases, all layers.
    pub fn parameters(&self) -> usize {
        self.layers
            .iter()
            .map(|layer| layer.outputs * (layer.inputs + 1))
            .sum()
    }

    /// The bytes of weight chunk `chunk` of `layer`: its rows, then its biases.
    pub fn weight_chunk(&self, layer: usize, chunk: usize) -> Option<&[u8]> {
        let shape = self.layers.get(layer)?;
        let first = chunk.checked_mul(self.rows)?;
        if first >= shape.outputs {
            return None;
        }
        let rows = self.rows.min(shape.outputs - first);
        let start = shape.offset + first * (shape.inputs + 4);
        self.bytes.get(start..start + rows * (shape.inputs + 4))
    }

    /// The Merkle leaves: one per weight chunk, in file order.
    pub fn weight_leaves(&self) -> Vec<B256> {
        let mut leaves = Vec::new();
        for (layer, shape) in self.layers.iter().enumerate() {
            for chunk in 0..shape.chunks(self.rows) {
                if let Some(bytes) = self.weight_chunk(layer, chunk) {
                    leaves.push(keccak256(bytes));
                }
            }
        }
        leaves
    }

    /// The Merkle root over the weight chunks.
    pub fn weights_root(&self) -> B256 {
        merkle_root(self.weight_leaves())
    }

    /// `keccak256(header ‖ weights root)`: commits to the whole network.
    pub fn hash(&self) -> B256 {
        let mut preimage = Vec::with_capacity(self.header_len + 32);
        preimage.extend_from_slice(&self.bytes[..self.header_len]);
        preimage.extend_from_slice(self.weights_root().as_slice());
        keccak256(preimage)
    }

    /// Runs the network on `input` (each value in `[-127, 127]`) and hashes every output chunk.
    pub fn evaluate(&self, input: &[i8]) -> Result<Evaluation, NetworkError> {
        self.evaluate_with(input, None)
    }

    /// A run in which one hidden activation is replaced, and every later layer computed from the
    /// replacement as the network would: the run an operator commits who changed one neuron and
    /// carried the change through honestly. Its trace departs from the honest one first at the
    /// altered chunk, which is what a fraud proof then shows wrong. For devnets and tests of the
    /// fraud proof; an alteration outside the hidden layers changes nothing.
    pub fn evaluate_altered(
        &self,
        input: &[i8],
        alteration: Alteration,
    ) -> Result<Evaluation, NetworkError> {
        self.evaluate_with(input, Some(alteration))
    }

    fn evaluate_with(
        &self,
        input: &[i8],
        alteration: Option<Alteration>,
    ) -> Result<Evaluation, NetworkError> {
        if input.len() != self.input_width {
            return Err(NetworkError::InputLength {
                expected: self.input_width,
                actual: input.len(),
            });
        }
        if let Some((index, &value)) = input
            .iter()
            .enumerate()
            .find(|(_, value)| **value == i8::MIN)
        {
            return Err(NetworkError::InputRange { index, value });
        }
        let mut hidden = Vec::with_capacity(self.layers.len().saturating_sub(1));
        let mut trace = Vec::with_capacity(self.layers.len());
        let mut x: Vec<i8> = input.to_vec();
        for (index, shape) in self.layers.iter().enumerate() {
            let last = index + 1 == self.layers.len();
            let step = self.step(index).ok_or(NetworkError::LayerCount(index))?;
            let mut encoded = Vec::with_capacity(shape.outputs * if last { 4 } else { 1 });
            let mut hashes = Vec::with_capacity(shape.chunks(self.rows));
            for chunk in 0..shape.chunks(self.rows) {
                let weights = self.weight_chunk(index, chunk).unwrap_or_default();
                let first_neuron = chunk * self.rows;
                let mut values = output_chunk(&step, first_neuron, &x, weights)?;
                if let Some(alteration) = alteration.filter(|a| a.layer == index && !last)
                    && let Some(value) = alteration
                        .neuron
                        .checked_sub(first_neuron)
                        .and_then(|offset| values.get_mut(offset))
                {
                    *value = alteration.value.max(0) as u8;
                }
                // Validation bounds a layer's chunks to 65,536: the index fits a u32.
                hashes.push(chunk_hash(step.index, chunk as u32, &values));
                encoded.extend_from_slice(&values);
            }
            trace.push(hashes);
            if last {
                let logits = encoded
                    .chunks_exact(4)
                    .map(|bytes| i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
                    .collect();
                return Ok(Evaluation {
                    hidden,
                    logits,
                    trace: Trace { layers: trace },
                });
            }
            x = encoded.iter().map(|&value| value as i8).collect();
            hidden.push(x.clone());
        }
        // Validation requires at least one layer, which the loop returns from.
        Err(NetworkError::LayerCount(0))
    }

    /// Calls `visit` with every weight row of layer `layer` and its bias, in neuron order.
    fn for_each_row(&self, layer: usize, mut visit: impl FnMut(&[u8], i32)) {
        let Some(shape) = self.layers.get(layer) else {
            return;
        };
        for chunk in 0..shape.chunks(self.rows) {
            let Some(bytes) = self.weight_chunk(layer, chunk) else {
                continue;
            };
            let rows = bytes.len() / (shape.inputs + 4);
            let (weights, biases) = bytes.split_at(rows * shape.inputs);
            for (row, bias) in weights
                .chunks_exact(shape.inputs)
                .zip(biases.chunks_exact(4))
            {
                visit(
                    row,
                    i32::from_be_bytes([bias[0], bias[1], bias[2], bias[3]]),
                );
            }
        }
    }

    /// Every neuron's accumulator must be an int32 for every input in range.
    fn check_accumulator_bounds(&self) -> Result<(), NetworkError> {
        for layer in 0..self.layers.len() {
            let mut first_over = None;
            let mut neuron = 0;
            self.for_each_row(layer, |row, bias| {
                let weights: u64 = row
                    .iter()
                    .map(|&w| u64::from((w as i8).unsigned_abs()))
                    .sum();
                let bound = u64::from(bias.unsigned_abs()) + MAX_ACTIVATION as u64 * weights;
                if bound > MAX_ACCUMULATOR && first_over.is_none() {
                    first_over = Some((neuron, bound));
                }
                neuron += 1;
            });
            if let Some((neuron, bound)) = first_over {
                return Err(NetworkError::AccumulatorBound {
                    layer,
                    neuron,
                    bound,
                });
            }
        }
        Ok(())
    }

    /// The Merkle proof of weight chunk `chunk` of `layer`: the siblings from its leaf up, and the
    /// leaf's index. `None` if there is no such chunk.
    pub fn weight_proof(&self, layer: usize, chunk: usize) -> Option<(usize, Vec<B256>)> {
        let shape = self.layers.get(layer)?;
        if chunk >= shape.chunks(self.rows) {
            return None;
        }
        let index = self.layers[..layer]
            .iter()
            .map(|shape| shape.chunks(self.rows))
            .sum::<usize>()
            + chunk;
        let mut level = self.weight_leaves();
        level.resize(level.len().next_power_of_two(), B256::ZERO);
        let mut siblings = Vec::new();
        let mut position = index;
        while level.len() > 1 {
            siblings.push(level[position ^ 1]);
            level = level
                .chunks_exact(2)
                .map(|pair| hash_pair(pair[0], pair[1]))
                .collect();
            position /= 2;
        }
        Some((index, siblings))
    }

    /// A network of `widths` (the last must be 3) over `input_width` inputs, every weight and
    /// bias drawn from a fixed pseudo-random sequence seeded with `seed`: randomly
    /// initialised, not trained ([`SplitMix64`]). Weights lie in `[-7, 7]`; each hidden layer's multiplier scales
    /// a typical accumulator to about a quarter of the activation range, so that activations
    /// neither all saturate nor all vanish. Layers `residual` (by index) add their input.
    pub fn generate(
        input_width: usize,
        widths: &[usize],
        residual: &[usize],
        rows: usize,
        seed: u64,
    ) -> Result<Self, NetworkError> {
        let mut random = SplitMix64::new(seed);
        let layer_count =
            u8::try_from(widths.len()).map_err(|_| NetworkError::LayerCount(widths.len()))?;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&MAGIC);
        bytes.push(FORMAT_VERSION);
        bytes.push(layer_count);
        bytes.extend_from_slice(
            &u32::try_from(input_width)
                .map_err(|_| NetworkError::InputWidth(input_width))?
                .to_be_bytes(),
        );
        bytes.extend_from_slice(
            &u16::try_from(rows)
                .map_err(|_| NetworkError::ChunkRows(rows))?
                .to_be_bytes(),
        );
        bytes.push(DECODER_THREE_LOGITS);
        let mut inputs = input_width;
        let mut shapes = Vec::with_capacity(widths.len());
        for (layer, &outputs) in widths.iter().enumerate() {
            let last = layer + 1 == widths.len();
            let kind = u8::from(residual.contains(&layer));
            // A typical |acc| is sqrt(n) · 4.3 (the weights' deviation) · 40 (an activation's
            // root mean square); scale it to 32.
            let typical = (inputs as f64).sqrt() * 4.3 * 40.0;
            let (multiplier, shift) = if last {
                (0i32, 0u8)
            } else {
                let shift = 24u8;
                let multiplier = ((32.0 / typical) * f64::from(1u32 << shift))
                    .round()
                    .max(1.0);
                (multiplier.min(f64::from(i32::MAX)) as i32, shift)
            };
            bytes.push(kind);
            bytes.extend_from_slice(
                &u32::try_from(outputs)
                    .map_err(|_| NetworkError::Width { layer, outputs })?
                    .to_be_bytes(),
            );
            bytes.extend_from_slice(&multiplier.to_be_bytes());
            bytes.push(shift);
            shapes.push((inputs, outputs));
            inputs = outputs;
        }
        for (inputs, outputs) in shapes {
            let mut first = 0;
            while first < outputs {
                let chunk_rows = rows.min(outputs - first);
                for _ in 0..chunk_rows * inputs {
                    bytes.push((random.below(15) as i8 - 7) as u8);
                }
                for _ in 0..chunk_rows {
                    let bias = random.below(2_049) as i32 - 1_024;
                    bytes.extend_from_slice(&bias.to_be_bytes());
                }
                first += chunk_rows;
            }
        }
        Self::from_bytes(bytes)
    }
}

/// How a layer turns its accumulators into outputs, as a fraud proof states it
/// (`WardenNetwork.Layer` in Solidity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The layer's position in the network.
    pub index: u16,
    /// Whether it is the last layer, which outputs its accumulators (the logits).
    pub last: bool,
    /// Whether it adds its input to each output.
    pub residual: bool,
    /// Requantization of a hidden layer; ignored for the last.
    pub multiplier: i32,
    pub shift: u8,
}

/// One output chunk of a layer, encoded as the trace hashes it (a byte per activation, four
/// big-endian bytes per logit), from the layer's whole input and the chunk's weights (its rows,
/// then its biases, as the file holds them); `first_neuron` is the chunk's first neuron. This is
/// what [`Network::evaluate`] computes chunk by chunk and what `WardenNetwork.outputChunkHash`
/// recomputes on chain, with the same checks in the same order. Accumulators are exact in i64
/// whatever the weights, and a logit keeps its accumulator's low 32 bits, as the contract does.
pub fn output_chunk(
    step: &Step,
    first_neuron: usize,
    input: &[i8],
    weights: &[u8],
) -> Result<Vec<u8>, NetworkError> {
    let inputs = input.len();
    if inputs == 0 || weights.is_empty() || !weights.len().is_multiple_of(inputs + 4) {
        return Err(NetworkError::MalformedChunk {
            length: weights.len(),
            inputs,
        });
    }
    let rows = weights.len() / (inputs + 4);
    if step.residual && first_neuron.saturating_add(rows) > inputs {
        return Err(NetworkError::ResidualRange {
            first_neuron,
            rows,
            inputs,
        });
    }
    if !step.last && (step.multiplier < 1 || !SHIFTS.contains(&step.shift)) {
        return Err(NetworkError::Requantization {
            layer: usize::from(step.index),
            multiplier: step.multiplier,
            shift: step.shift,
        });
    }
    let (rows_bytes, biases) = weights.split_at(rows * inputs);
    let mut values = Vec::with_capacity(rows * if step.last { 4 } else { 1 });
    for (row_index, (row, bias)) in rows_bytes
        .chunks_exact(inputs)
        .zip(biases.chunks_exact(4))
        .enumerate()
    {
        let bias = i32::from_be_bytes([bias[0], bias[1], bias[2], bias[3]]);
        let dot: i64 = row
            .iter()
            .zip(input)
            .map(|(&w, &xi)| i64::from(w as i8) * i64::from(xi))
            .sum();
        let acc = i64::from(bias) + dot;
        if step.last {
            // The low 32 bits: the network's validation keeps every logit within them.
            values.extend_from_slice(&(acc as i32).to_be_bytes());
        } else {
            let residual = if step.residual {
                i64::from(input[first_neuron + row_index])
            } else {
                0
            };
            values.push(requantize(acc, step.multiplier, step.shift, residual) as u8);
        }
    }
    Ok(values)
}

/// `clamp(floor((acc · multiplier + 2^(shift-1)) / 2^shift) + residual, 0, 127)`.
/// `shift` must be in [`SHIFTS`], as validation and [`output_chunk`] ensure.
fn requantize(acc: i64, multiplier: i32, shift: u8, residual: i64) -> i8 {
    let scaled = (acc * i64::from(multiplier) + (1i64 << (shift - 1))) >> shift;
    // The clamp makes the value an int8.
    (scaled + residual).clamp(0, MAX_ACTIVATION) as i8
}

/// The Merkle root of `leaves`, padded with zero words to a power of two (the zero word for no
/// leaf at all).
pub fn merkle_root(mut leaves: Vec<B256>) -> B256 {
    if leaves.is_empty() {
        return B256::ZERO;
    }
    leaves.resize(leaves.len().next_power_of_two(), B256::ZERO);
    while leaves.len() > 1 {
        leaves = leaves
            .chunks_exact(2)
            .map(|pair| hash_pair(pair[0], pair[1]))
            .collect();
    }
    leaves[0]
}

/// Whether `siblings` prove `leaf` at `index` under `root`.
pub fn verify_proof(leaf: B256, index: usize, siblings: &[B256], root: B256) -> bool {
    let mut node = leaf;
    let mut position = index;
    for &sibling in siblings {
        node = if position.is_multiple_of(2) {
            hash_pair(node, sibling)
        } else {
            hash_pair(sibling, node)
        };
        position /= 2;
    }
    position == 0 && node == root
}

fn hash_pair(left: B256, right: B256) -> B256 {
    let mut preimage = [0u8; 64];
    preimage[..32].copy_from_slice(left.as_slice());
    preimage[32..].copy_from_slice(right.as_slice());
    keccak256(preimage)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One layer of a hand-built file.
    struct Spec {
        kind: u8,
        outputs: u32,
        multiplier: i32,
        shift: u8,
        weights: Vec<Vec<i8>>,
        biases: Vec<i32>,
    }

    fn spec(kind: u8, multiplier: i32, shift: u8, weights: Vec<Vec<i8>>, biases: Vec<i32>) -> Spec {
        Spec {
            kind,
            outputs: weights.len() as u32,
            multiplier,
            shift,
            weights,
            biases,
        }
    }

    /// Builds a network file from its layers.
    fn file(input_width: u32, rows: u16, layers: &[Spec]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.push(FORMAT_VERSION);
        bytes.push(layers.len() as u8);
        bytes.extend_from_slice(&input_width.to_be_bytes());
        bytes.extend_from_slice(&rows.to_be_bytes());
        bytes.push(DECODER_THREE_LOGITS);
        for layer in layers {
            bytes.push(layer.kind);
            bytes.extend_from_slice(&layer.outputs.to_be_bytes());
            bytes.extend_from_slice(&layer.multiplier.to_be_bytes());
            bytes.push(layer.shift);
        }
        for layer in layers {
            let rows = usize::from(rows);
            for (chunk_rows, chunk_biases) in
                layer.weights.chunks(rows).zip(layer.biases.chunks(rows))
            {
                for row in chunk_rows {
                    bytes.extend(row.iter().map(|&w| w as u8));
                }
                for bias in chunk_biases {
                    bytes.extend_from_slice(&bias.to_be_bytes());
                }
            }
        }
        bytes
    }

    /// 2 inputs → 2 hidden (residual) → 2 hidden → 3 logits, two neurons per chunk. Requantization
    /// halves (multiplier 2^30, shift 31).
    fn tiny() -> Vec<u8> {
        file(
            2,
            2,
            &[
                spec(1, 1 << 30, 31, vec![vec![1, 2], vec![-3, 4]], vec![10, -20]),
                spec(0, 1 << 30, 31, vec![vec![2, 0], vec![0, -2]], vec![0, 100]),
                spec(
                    0,
                    0,
                    0,
                    vec![vec![1, 1], vec![-1, 0], vec![0, 3]],
                    vec![5, 6, 7],
                ),
            ],
        )
    }

    #[test]
    fn a_tiny_network_computes_what_a_hand_computation_says() {
        let network = Network::from_bytes(tiny()).unwrap();
        let evaluation = network.evaluate(&[20, 30]).unwrap();
        // Layer 0 (residual): acc = (10 + 20 + 60, -20 - 60 + 120) = (90, 40); halved, rounding half
        // up: (45, 20); plus the input (20, 30): (65, 50).
        assert_eq!(evaluation.hidden[0], vec![65, 50]);
        // Layer 1: acc = (130, 100 - 100) = (130, 0); halved: (65, 0).
        assert_eq!(evaluation.hidden[1], vec![65, 0]);
        // Logits: (5 + 65, 6 - 65, 7 + 0).
        assert_eq!(evaluation.logits, vec![70, -59, 7]);
        // Chunks: one per hidden layer, two for the logits (two neurons per chunk).
        let lengths: Vec<usize> = evaluation.trace.layers.iter().map(Vec::len).collect();
        assert_eq!(lengths, vec![1, 1, 2]);
        let mut logit_bytes = 70i32.to_be_bytes().to_vec();
        logit_bytes.extend_from_slice(&(-59i32).to_be_bytes());
        assert_eq!(
            evaluation.trace.layers[2][0],
            chunk_hash(2, 0, &logit_bytes)
        );
        assert_eq!(
            evaluation.trace.layers[2][1],
            chunk_hash(2, 1, &7i32.to_be_bytes())
        );
        assert_eq!(evaluation.trace.layers[0][0], chunk_hash(0, 0, &[65, 50]));
    }

    #[test]
    fn requantization_rounds_half_up_and_saturates() {
        assert_eq!(requantize(3, 1 << 30, 31, 0), 2); // 1.5 → 2
        assert_eq!(requantize(-3, 1 << 30, 31, 0), 0); // -1.5 → -1, then ReLU
        assert_eq!(requantize(1_000, 1 << 30, 31, 0), 127);
        assert_eq!(requantize(100, 1 << 30, 31, 100), 127);
        assert_eq!(requantize(-100, 1 << 30, 31, 60), 10);
    }

    #[test]
    fn one_changed_neuron_changes_the_network_hash_and_only_its_chunk_of_the_trace() {
        let network = Network::generate(16, &[24, 24, 3], &[1], 8, 7).unwrap();
        let input: Vec<i8> = (0..16).map(|i| (i * 13 % 255 - 127) as i8).collect();
        let honest = network.evaluate(&input).unwrap();

        // The bias of neuron 9 of layer 0 (row 1 of chunk 1), moved far enough to push its
        // activation to the other end of [0, 127].
        let at = network.layers()[0].offset + 8 * (16 + 4) + 8 * 16 + 4;
        let mut bytes = network.as_bytes().to_vec();
        let bias = i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        let moved = if honest.hidden[0][9] > 0 {
            bias - (1 << 20)
        } else {
            bias + (1 << 20)
        };
        bytes[at..at + 4].copy_from_slice(&moved.to_be_bytes());
        let changed = Network::from_bytes(bytes).unwrap();
        assert_ne!(changed.hash(), network.hash());
        assert_ne!(changed.weights_root(), network.weights_root());

        let evaluation = changed.evaluate(&input).unwrap();
        assert_ne!(evaluation.hidden[0][9], honest.hidden[0][9]);
        assert_eq!(evaluation.hidden[0][..9], honest.hidden[0][..9]);
        assert_eq!(evaluation.hidden[0][10..], honest.hidden[0][10..]);
        let trace = &evaluation.trace;
        assert_eq!(trace.layers[0][0], honest.trace.layers[0][0]);
        assert_ne!(trace.layers[0][1], honest.trace.layers[0][1]);
        assert_eq!(trace.layers[0][2], honest.trace.layers[0][2]);
        assert_ne!(trace.hash(), honest.trace.hash());
    }

    #[test]
    fn every_weight_chunk_proves_against_the_root_and_a_changed_one_does_not() {
        let network = Network::generate(10, &[20, 7, 3], &[], 4, 3).unwrap();
        let root = network.weights_root();
        let mut proved = 0;
        for (layer, shape) in network.layers().iter().enumerate() {
            for chunk in 0..shape.chunks(network.chunk_rows()) {
                let (index, siblings) = network.weight_proof(layer, chunk).unwrap();
                let leaf = keccak256(network.weight_chunk(layer, chunk).unwrap());
                assert!(verify_proof(leaf, index, &siblings, root));
                assert!(!verify_proof(
                    keccak256(b"another chunk"),
                    index,
                    &siblings,
                    root
                ));
                assert!(!verify_proof(leaf, index ^ 1, &siblings, root));
                proved += 1;
            }
        }
        // 5 + 2 + 1 chunks, padded to 8 leaves: three siblings each.
        assert_eq!(proved, 8);
        assert_eq!(network.weight_proof(0, 0).unwrap().1.len(), 3);
        assert!(network.weight_proof(0, 5).is_none());
        assert!(network.weight_proof(3, 0).is_none());
    }

    #[test]
    fn generated_networks_are_the_same_everywhere_and_keep_activations_alive() {
        let a = Network::generate(64, &[128, 128, 3], &[1], 32, 11).unwrap();
        let b = Network::generate(64, &[128, 128, 3], &[1], 32, 11).unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
        assert_ne!(
            a.hash(),
            Network::generate(64, &[128, 128, 3], &[1], 32, 12)
                .unwrap()
                .hash()
        );
        let input: Vec<i8> = (0..64).map(|i| ((i * 37) % 255 - 127) as i8).collect();
        let evaluation = a.evaluate(&input).unwrap();
        for activations in &evaluation.hidden {
            let alive = activations
                .iter()
                .filter(|&&value| value > 0 && value < 127)
                .count();
            assert!(
                alive * 4 > activations.len(),
                "most activations neither zero nor saturated: {activations:?}"
            );
        }
    }

    #[test]
    fn malformed_files_are_refused_with_the_problem_named() {
        let good = tiny();
        let with = |at: usize, value: u8| {
            let mut bytes = good.clone();
            bytes[at] = value;
            Network::from_bytes(bytes).unwrap_err()
        };
        assert_eq!(with(0, b'X'), NetworkError::BadMagic { found: *b"XNET" });
        assert_eq!(with(4, 2), NetworkError::UnsupportedVersion(2));
        assert_eq!(with(5, 0), NetworkError::LayerCount(0));
        assert_eq!(with(12, 9), NetworkError::UnknownDecoder(9));
        // Layer 0's kind, then its width (a residual layer must keep the input width).
        assert_eq!(with(13, 7), NetworkError::UnknownKind { layer: 0, kind: 7 });
        assert_eq!(
            with(17, 3),
            NetworkError::ResidualWidth {
                layer: 0,
                inputs: 2,
                outputs: 3
            }
        );
        // The last layer: residual, or requantizing.
        assert_eq!(with(33, 1), NetworkError::ResidualOutput { layer: 2 });
        assert_eq!(
            with(42, 5),
            NetworkError::Requantization {
                layer: 2,
                multiplier: 0,
                shift: 5
            }
        );
        assert_eq!(
            with(22, 0),
            NetworkError::Requantization {
                layer: 0,
                multiplier: 1 << 30,
                shift: 0
            }
        );
        assert_eq!(
            Network::from_bytes(good[..good.len() - 1].to_vec()).unwrap_err(),
            NetworkError::Truncated {
                length: good.len() - 1,
                needed: good.len()
            }
        );
        let mut longer = good.clone();
        longer.push(0);
        assert_eq!(
            Network::from_bytes(longer).unwrap_err(),
            NetworkError::TrailingBytes(1)
        );
        assert_eq!(
            Network::from_bytes(b"WNE".to_vec()).unwrap_err(),
            NetworkError::Truncated {
                length: 3,
                needed: 4
            }
        );
        // Logits must be three.
        let two_logits = file(
            2,
            2,
            &[spec(0, 0, 0, vec![vec![1, 1], vec![1, 1]], vec![0, 0])],
        );
        assert_eq!(
            Network::from_bytes(two_logits).unwrap_err(),
            NetworkError::DecoderWidth {
                expected: 3,
                outputs: 2
            }
        );
        // A bias that lets the accumulator leave int32.
        let overflowing = file(
            1,
            4,
            &[spec(
                0,
                0,
                0,
                vec![vec![1], vec![127], vec![0]],
                vec![0, i32::MAX - 100, 0],
            )],
        );
        assert!(matches!(
            Network::from_bytes(overflowing).unwrap_err(),
            NetworkError::AccumulatorBound {
                layer: 0,
                neuron: 1,
                ..
            }
        ));
    }

    /// A fraud proof's chunk is checked as the contract checks it (`test_revert_malformedChunks`).
    #[test]
    fn malformed_chunks_are_refused_as_the_contract_refuses_them() {
        let hidden = |residual| Step {
            index: 0,
            last: false,
            residual,
            multiplier: 1 << 30,
            shift: 31,
        };
        assert_eq!(
            output_chunk(&hidden(false), 0, &[1, 2], &[]).unwrap_err(),
            NetworkError::MalformedChunk {
                length: 0,
                inputs: 2
            }
        );
        assert_eq!(
            output_chunk(&hidden(false), 0, &[1, 2], &[1, 2, 3, 4, 5]).unwrap_err(),
            NetworkError::MalformedChunk {
                length: 5,
                inputs: 2
            }
        );
        assert_eq!(
            output_chunk(&hidden(true), 1, &[1, 2], &[0; 12]).unwrap_err(),
            NetworkError::ResidualRange {
                first_neuron: 1,
                rows: 2,
                inputs: 2
            }
        );
        assert_eq!(
            output_chunk(&hidden(true), usize::MAX, &[1, 2], &[0; 6]).unwrap_err(),
            NetworkError::ResidualRange {
                first_neuron: usize::MAX,
                rows: 1,
                inputs: 2
            }
        );
        let no_shift = Step {
            shift: 0,
            ..hidden(false)
        };
        assert_eq!(
            output_chunk(&no_shift, 0, &[1, 2], &[0; 6]).unwrap_err(),
            NetworkError::Requantization {
                layer: 0,
                multiplier: 1 << 30,
                shift: 0
            }
        );
    }

    #[test]
    fn inputs_of_the_wrong_width_or_range_are_refused() {
        let network = Network::from_bytes(tiny()).unwrap();
        assert_eq!(
            network.evaluate(&[1]).unwrap_err(),
            NetworkError::InputLength {
                expected: 2,
                actual: 1
            }
        );
        assert_eq!(
            network.evaluate(&[1, -128]).unwrap_err(),
            NetworkError::InputRange {
                index: 1,
                value: -128
            }
        );
    }
}
