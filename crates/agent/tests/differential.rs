//! Rust against Solidity: the agent (`warden-agent`) and `MlpPolicy.sol` must produce the same
//! features, logits, decision, size and output bytes for random models and inputs, reject the
//! same malformed models with the same error, and the deployed verifier must report the same
//! agent hash and actions as the Rust reference agent. Runs against a real anvil.
//!
//! The seed is printed; rerun a failure with `WARDEN_TEST_SEED=<seed>`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::aliases::U112;
use alloy::primitives::{Address, B256, Bytes, I256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use alloy::sol_types::SolError;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use warden_agent::model::{MAX_HIDDEN_DIM, MAX_LAYERS, MIN_LAYERS};
use warden_agent::network::{Step, chunk_hash, output_chunk};
use warden_agent::{
    Action, ActionKind, Agent, AgentInput, MlpAgent, Model, ModelError, NUM_ACTIONS, NUM_FEATURES,
    Params, REFERENCE_MODEL_BYTES, reference_agent,
};
use warden_bindings::harness::MlpPolicyHarness;
use warden_bindings::harness::{WardenNetwork, WardenNetworkHarness};
use warden_bindings::{MlpAgentVerifier, MlpPolicy};

/// Random models × inputs compared by `evaluate_batch` (`WARDEN_DIFF_CASES` overrides, for soak runs).
const CASES: usize = 1_200;
/// Cases per `eth_call`.
const BATCH: usize = 40;
/// Malformed models compared by `validate_batch`.
const INVALID_CASES: usize = 400;
/// Random inputs through the deployed reference verifier.
const VERIFIER_CASES: usize = 200;
/// Gas for one batched `eth_call`: far above any batch, below anvil's limit set at spawn.
const CALL_GAS: u64 = 1_000_000_000;

sol! {
    // MlpPolicy's errors, declared independently so the selectors are checked too.
    error ModelTruncated(uint256 length, uint256 needed);
    error BadModelMagic();
    error UnsupportedModelVersion(uint8 version);
    error BadLayerCount(uint8 count);
    error BadLayerDim(uint256 index, uint8 dim);
    error ModelTrailingBytes(uint256 length, uint256 expected);
    error AccumulatorOutOfRange(uint256 layer, uint256 neuron, uint256 bound);
    error BadMultiplier(uint256 layer, uint32 multiplier);
    error BadShift(uint256 layer, uint8 shift);
    error HistoryTooShort(uint256 length);
    error MalformedInput(uint256 length);
}

fn spawn_anvil() -> AnvilInstance {
    Anvil::at(warden_testkit::default_anvil_path())
        .host("127.0.0.1")
        .args(["--gas-limit", "2000000000"])
        .spawn()
}

fn seeded_rng() -> StdRng {
    let seed = std::env::var("WARDEN_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().r#gen());
    eprintln!("seed {seed} (rerun with WARDEN_TEST_SEED={seed})");
    StdRng::seed_from_u64(seed)
}

fn provider(anvil: &AnvilInstance) -> impl Provider + Clone {
    let signer = PrivateKeySigner::from(anvil.keys()[0].clone());
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(anvil.endpoint_url())
}

// ---------------------------------------------------------------------------------------------
// Random models
// ---------------------------------------------------------------------------------------------

fn random_dim(rng: &mut StdRng) -> u8 {
    let dim = match rng.gen_range(0..10) {
        0..=4 => rng.gen_range(1..=16),
        5..=7 => rng.gen_range(17..=40),
        _ => rng.gen_range(41..=MAX_HIDDEN_DIM),
    };
    dim as u8
}

fn random_weights(rng: &mut StdRng, n: usize) -> Vec<i8> {
    match rng.gen_range(0..5) {
        0 => (0..n).map(|_| rng.r#gen::<i8>()).collect(),
        1 => (0..n).map(|_| rng.gen_range(-8..=8)).collect(),
        2 => (0..n)
            .map(|_| {
                if rng.gen_bool(0.7) {
                    0
                } else {
                    rng.r#gen::<i8>()
                }
            })
            .collect(),
        3 => (0..n)
            .map(|_| *[-128i8, -127, 127].get(rng.gen_range(0..3)).unwrap())
            .collect(),
        _ => (0..n).map(|_| rng.gen_range(-40..=40)).collect(),
    }
}

/// A bias that keeps `|bias| + 127·Σ|w| ≤ 2^31 - 1`, often at the boundary.
fn random_bias(rng: &mut StdRng, row: &[i8]) -> i32 {
    let used: i64 = 127 * row.iter().map(|w| i64::from(w.unsigned_abs())).sum::<i64>();
    let room = i64::from(i32::MAX) - used;
    let magnitude = match rng.gen_range(0..6) {
        0 => 0,
        1 => room,
        2 => rng.gen_range(0..=room),
        3 => rng.gen_range(0..=room.min(1 << 16)),
        _ => rng.gen_range(0..=room.min(1 << 12)),
    };
    let bias = if rng.r#gen() { magnitude } else { -magnitude };
    i32::try_from(bias).unwrap()
}

/// Requantization that usually keeps outputs in range (so later layers see varied inputs), and
/// sometimes anything valid.
fn random_requant(rng: &mut StdRng, inputs: usize) -> (u32, u8) {
    let multiplier: u32 = match rng.gen_range(0..5) {
        0 => 1,
        1 => i32::MAX as u32,
        2 => rng.gen_range(1 << 30..=i32::MAX as u32),
        _ => rng.gen_range(1..=i32::MAX as u32),
    };
    let shift = if rng.gen_bool(0.8) {
        // Typical |acc| is around 127·40·sqrt(inputs); aim that at ~64 after requantization.
        let acc_bits = 12 + (inputs as f64).log2() as i32 / 2;
        let mult_bits = 32 - multiplier.leading_zeros() as i32;
        (acc_bits + mult_bits - 6 + rng.gen_range(-3..=3)).clamp(1, 62) as u8
    } else {
        rng.gen_range(1..=62)
    };
    (multiplier, shift)
}

fn random_model(rng: &mut StdRng) -> Vec<u8> {
    let layers = rng.gen_range(MIN_LAYERS..=MAX_LAYERS);
    let mut dims = vec![NUM_FEATURES as u8];
    for _ in 1..layers {
        dims.push(random_dim(rng));
    }
    dims.push(NUM_ACTIONS as u8);
    let mut bytes = b"WMLP".to_vec();
    bytes.push(1);
    bytes.push(layers as u8);
    bytes.extend(&dims);
    for l in 0..layers {
        let (inputs, outputs) = (usize::from(dims[l]), usize::from(dims[l + 1]));
        let mut biases = Vec::with_capacity(outputs);
        for _ in 0..outputs {
            let row = random_weights(rng, inputs);
            biases.push(random_bias(rng, &row));
            bytes.extend(row.iter().map(|&w| w as u8));
        }
        for bias in biases {
            bytes.extend(bias.to_be_bytes());
        }
        if l + 1 < layers {
            let (multiplier, shift) = random_requant(rng, inputs);
            bytes.extend(multiplier.to_be_bytes());
            bytes.push(shift);
        }
    }
    bytes
}

// ---------------------------------------------------------------------------------------------
// Random inputs and parameters
// ---------------------------------------------------------------------------------------------

fn random_u256(rng: &mut StdRng) -> U256 {
    U256::from_limbs(rng.r#gen::<[u64; 4]>())
}

/// A value with a random number of significant bits in `bits`, all random below the top one.
fn random_bits(rng: &mut StdRng, bits: std::ops::RangeInclusive<usize>) -> U256 {
    let bits = rng.gen_range(bits);
    if bits == 0 {
        return U256::ZERO;
    }
    (random_u256(rng) >> (256 - bits)) | (U256::from(1u8) << (bits - 1))
}

fn wad(v: u64) -> U256 {
    U256::from(v) * U256::from(1_000_000_000_000_000_000u64)
}

fn random_prices(rng: &mut StdRng) -> Vec<U256> {
    let length = if rng.gen_bool(0.3) {
        16
    } else {
        rng.gen_range(16..=48)
    };
    match rng.gen_range(0..9) {
        // A realistic random walk around a price, up to ±3 % a step.
        0..=2 => {
            let mut price = wad(rng.gen_range(1..=100_000));
            (0..length)
                .map(|_| {
                    let bps = rng.gen_range(9_700u64..=10_300);
                    price = price * U256::from(bps) / U256::from(10_000u64);
                    price
                })
                .collect()
        }
        // Flat.
        3 => vec![random_bits(rng, 0..=256); length],
        // Tiny values, zeros included.
        4 => (0..length)
            .map(|_| U256::from(rng.gen_range(0u8..=5)))
            .collect(),
        // Huge values near 2^256.
        5 => (0..length)
            .map(|_| U256::MAX - U256::from(rng.r#gen::<u64>()))
            .collect(),
        // Around the 2^120 normalization boundary.
        6 => (0..length).map(|_| random_bits(rng, 118..=123)).collect(),
        // Any magnitude, with zeros sprinkled in.
        7 => (0..length)
            .map(|_| {
                if rng.gen_bool(0.2) {
                    U256::ZERO
                } else {
                    random_bits(rng, 1..=256)
                }
            })
            .collect(),
        // Full-range random.
        _ => (0..length).map(|_| random_u256(rng)).collect(),
    }
}

fn random_balance(rng: &mut StdRng) -> U256 {
    match rng.gen_range(0..8) {
        0 => U256::ZERO,
        1 => U256::from(rng.gen_range(1u64..=20_000)),
        2 => U256::MAX,
        3 => random_bits(rng, 200..=256),
        4 => random_bits(rng, 1..=256),
        _ => random_bits(rng, 50..=90),
    }
}

fn random_reserve(rng: &mut StdRng) -> U112 {
    match rng.gen_range(0..8) {
        0 => U112::ZERO,
        1 => U112::from(rng.gen_range(1u64..=1_000)),
        2 => U112::MAX,
        3 => U112::MAX - U112::from(rng.r#gen::<u32>()),
        4 => U112::from(random_bits(rng, 1..=112)),
        _ => U112::from(random_bits(rng, 60..=90)),
    }
}

fn random_input(rng: &mut StdRng) -> AgentInput {
    // Edge-heavy inputs mostly end in a hold (empty pools, nothing to spend); a share of plainly
    // tradeable ones keeps the swap encoding well covered.
    if rng.gen_bool(0.4) {
        return tradeable_input(rng);
    }
    AgentInput {
        vault: Address::from(rng.r#gen::<[u8; 20]>()),
        tokenBase: Address::from(rng.r#gen::<[u8; 20]>()),
        tokenQuote: Address::from(rng.r#gen::<[u8; 20]>()),
        reserveBase: random_reserve(rng),
        reserveQuote: random_reserve(rng),
        balanceBase: random_balance(rng),
        balanceQuote: random_balance(rng),
        priceHistory: random_prices(rng),
        twapPrice: random_twap(rng),
        timestamp: if rng.gen_bool(0.1) {
            u64::MAX
        } else {
            rng.gen_range(1_600_000_000..=2_000_000_000)
        },
    }
}

/// Funded vault, liquid pool, any price path: the swap usually goes ahead.
fn tradeable_input(rng: &mut StdRng) -> AgentInput {
    AgentInput {
        vault: Address::from(rng.r#gen::<[u8; 20]>()),
        tokenBase: Address::from(rng.r#gen::<[u8; 20]>()),
        tokenQuote: Address::from(rng.r#gen::<[u8; 20]>()),
        reserveBase: U112::from(random_bits(rng, 40..=100)),
        reserveQuote: U112::from(random_bits(rng, 40..=100)),
        balanceBase: random_bits(rng, 30..=110),
        balanceQuote: random_bits(rng, 30..=110),
        priceHistory: random_prices(rng),
        twapPrice: random_bits(rng, 40..=90),
        timestamp: rng.gen_range(1_600_000_000..=2_000_000_000),
    }
}

/// A TWAP: mostly an ordinary price, with the edges of the minimum-output rule (no price, a
/// price whose quote overflows 256 bits or a uint112 reserve, a price so small the quote is 0).
fn random_twap(rng: &mut StdRng) -> U256 {
    match rng.gen_range(0..8) {
        0 => U256::ZERO,
        1 => U256::MAX,
        2 => random_bits(rng, 150..=256),
        3 => U256::from(rng.gen_range(1u64..=1_000)),
        4 => random_bits(rng, 1..=256),
        _ => random_bits(rng, 50..=80),
    }
}

fn random_params(rng: &mut StdRng) -> Params {
    let pick = |rng: &mut StdRng, edge: [u16; 2]| {
        if rng.gen_bool(0.2) {
            edge[rng.gen_range(0..2)]
        } else {
            rng.gen_range(0..=10_000)
        }
    };
    Params {
        router: Address::from(rng.r#gen::<[u8; 20]>()),
        slippage_bps: pick(rng, [0, 10_000]),
        deadline_seconds: if rng.gen_bool(0.1) {
            u32::MAX
        } else {
            rng.gen_range(0..=3_600)
        },
        max_size_bps: pick(rng, [0, 10_000]),
        size_bps_per_logit: match rng.gen_range(0..5) {
            0 => 0,
            1 => u32::MAX,
            2 => 1,
            _ => rng.gen_range(1..=1_000),
        },
        max_trade_bps: pick(rng, [0, 10_000]),
    }
}

/// Sets the spent balance so that `amountIn` lands exactly on the pair's uint112 capacity
/// (`2^112 - 1 - reserveIn`) or one past it, where the action flips between a swap and a hold.
/// The balance feeds the position feature, so the decision may move; a few rounds usually
/// settle. Returns whether the input ends exactly on the boundary.
fn aim_at_pair_capacity(rng: &mut StdRng, agent: &MlpAgent, input: &mut AgentInput) -> bool {
    let past = U256::from(u8::from(rng.r#gen::<bool>()));
    for _ in 0..3 {
        let eval = agent.evaluate(input).unwrap();
        let (reserve_in, balance_in) = match eval.decision {
            ActionKind::Hold => return false,
            ActionKind::Buy => (input.reserveQuote, &mut input.balanceQuote),
            ActionKind::Sell => (input.reserveBase, &mut input.balanceBase),
        };
        if eval.size_bps == 0 {
            return false;
        }
        let target = U256::from(U112::MAX) - U256::from(reserve_in) + past;
        let size = U256::from(eval.size_bps);
        let bps = U256::from(10_000u16);
        let amount_in = U256::from(
            alloy::primitives::U512::from(*balance_in) * alloy::primitives::U512::from(size)
                / alloy::primitives::U512::from(bps),
        );
        if amount_in == target {
            return true;
        }
        // The smallest balance whose share is `target`.
        *balance_in = (target * bps).div_ceil(size);
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------------------------

fn ints(values: &[I256]) -> Vec<i64> {
    values.iter().map(|v| i64::try_from(*v).unwrap()).collect()
}

/// The revert data `MlpPolicy.validateModel` produces for a Rust model error.
fn expected_revert(err: &ModelError) -> Bytes {
    let u = |v: usize| U256::from(v);
    let data = match *err {
        ModelError::ModelTruncated { length, needed } => ModelTruncated {
            length: u(length),
            needed: u(needed),
        }
        .abi_encode(),
        ModelError::BadModelMagic => BadModelMagic {}.abi_encode(),
        ModelError::UnsupportedModelVersion(version) => {
            UnsupportedModelVersion { version }.abi_encode()
        }
        ModelError::BadLayerCount(count) => BadLayerCount { count }.abi_encode(),
        ModelError::BadLayerDim { index, dim } => BadLayerDim {
            index: u(index),
            dim,
        }
        .abi_encode(),
        ModelError::ModelTrailingBytes { length, expected } => ModelTrailingBytes {
            length: u(length),
            expected: u(expected),
        }
        .abi_encode(),
        ModelError::AccumulatorOutOfRange {
            layer,
            neuron,
            bound,
        } => AccumulatorOutOfRange {
            layer: u(layer),
            neuron: u(neuron),
            bound: U256::from(bound),
        }
        .abi_encode(),
        ModelError::BadMultiplier { layer, multiplier } => BadMultiplier {
            layer: u(layer),
            multiplier,
        }
        .abi_encode(),
        ModelError::BadShift { layer, shift } => BadShift {
            layer: u(layer),
            shift,
        }
        .abi_encode(),
        ModelError::Json(_) => panic!("from_bytes never returns a JSON error"),
    };
    data.into()
}

/// A malformed variant of a valid model: one targeted corruption.
fn corrupt(rng: &mut StdRng, mut bytes: Vec<u8>) -> Vec<u8> {
    let len = bytes.len();
    match rng.gen_range(0..12) {
        0 => bytes.truncate(rng.gen_range(0..len)),
        1 => bytes.extend((0..rng.gen_range(1..40)).map(|_| rng.r#gen::<u8>())),
        2 => bytes[rng.gen_range(0..4)] ^= 1 << rng.gen_range(0..8),
        3 => bytes[4] = rng.gen_range(0..=255),
        4 => bytes[5] = *[0u8, 1, 6, 255].get(rng.gen_range(0..4)).unwrap(),
        5 => {
            let layers = usize::from(bytes[5]);
            bytes[6 + rng.gen_range(0..=layers)] =
                *[0u8, 2, 8, 10, 65, 255].get(rng.gen_range(0..6)).unwrap();
        }
        // Anywhere, any byte: whatever check catches it first must agree (or both accept).
        _ => {
            let i = rng.gen_range(6..len);
            bytes[i] = rng.r#gen();
        }
    }
    bytes
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn policy_agrees_with_solidity_on_random_models_and_inputs() {
    let anvil = spawn_anvil();
    let provider = provider(&anvil);
    let harness = MlpPolicyHarness::deploy(provider.clone()).await.unwrap();
    let mut rng = seeded_rng();

    let cases = std::env::var("WARDEN_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CASES);
    let mut kinds = [0usize; NUM_ACTIONS];
    let mut decisions = [0usize; NUM_ACTIONS];
    let mut saturated_features = 0usize;
    let mut boundary_hits = 0usize;
    let started = Instant::now();
    let mut solidity_time = std::time::Duration::ZERO;
    for batch in 0..cases.div_ceil(BATCH) {
        let mut cases = Vec::with_capacity(BATCH);
        for _ in 0..BATCH {
            let model_bytes = random_model(&mut rng);
            let model = Model::from_bytes(&model_bytes)
                .unwrap_or_else(|e| panic!("generated an invalid model: {e}"));
            let params = random_params(&mut rng);
            let input = random_input(&mut rng);
            let agent = MlpAgent::new(model, params).unwrap();
            let mut input = input;
            if rng.gen_bool(0.15) {
                boundary_hits += usize::from(aim_at_pair_capacity(&mut rng, &agent, &mut input));
            }
            let evaluation = agent.evaluate(&input).unwrap();
            cases.push((model_bytes, input, params, agent, evaluation));
        }
        let call_started = Instant::now();
        let results = harness
            .evaluateBatch(
                cases.iter().map(|c| Bytes::from(c.0.clone())).collect(),
                cases.iter().map(|c| c.1.encode()).collect(),
                cases.iter().map(|c| c.2.encode()).collect(),
            )
            .gas(CALL_GAS)
            .call()
            .await
            .unwrap();
        solidity_time += call_started.elapsed();
        assert_eq!(results.len(), BATCH);
        for (i, ((model_bytes, input, params, agent, rust), sol)) in
            cases.iter().zip(&results).enumerate()
        {
            let context = || {
                format!(
                    "batch {batch} case {i}\nmodel 0x{}\ninput {input:?}\nparams {params:?}",
                    alloy::hex::encode(model_bytes)
                )
            };
            let rust_features: Vec<i64> = rust.features.iter().map(|&f| i64::from(f)).collect();
            assert_eq!(
                ints(&sol.features),
                rust_features,
                "features, {}",
                context()
            );
            let rust_logits: Vec<i64> = rust.logits.iter().map(|&l| i64::from(l)).collect();
            assert_eq!(ints(&sol.logits), rust_logits, "logits, {}", context());
            assert_eq!(
                sol.decision,
                rust.decision.code(),
                "decision, {}",
                context()
            );
            assert_eq!(
                sol.sizeBps,
                U256::from(rust.size_bps),
                "size, {}",
                context()
            );
            assert_eq!(sol.output, rust.action.encode(), "output, {}", context());
            // The trait path gives the same action, and the output decodes back to it.
            assert_eq!(agent.decide(input).unwrap(), rust.action);
            assert_eq!(Action::decode(&sol.output).unwrap(), rust.action);
            kinds[usize::from(rust.action.kind.code())] += 1;
            decisions[usize::from(rust.decision.code())] += 1;
            saturated_features += rust.features.iter().filter(|f| f.abs() == 127).count();
        }
    }
    let cases = cases.div_ceil(BATCH) * BATCH;
    eprintln!(
        "{cases} cases in {:.2?} ({:.2?} in eth_call); decisions (hold, buy, sell) {decisions:?}, \
         actions {kinds:?}, saturated features {saturated_features} of {}, \
         inputs exactly at (or one past) the pair's capacity {boundary_hits}",
        started.elapsed(),
        solidity_time,
        cases * NUM_FEATURES
    );
    // Coverage: the generator must exercise every decision and produce real swaps of both kinds.
    assert!(kinds.iter().all(|&k| k >= cases / 50), "actions {kinds:?}");
    assert!(
        decisions.iter().all(|&d| d >= cases / 10),
        "decisions {decisions:?}"
    );
}

#[tokio::test]
async fn malformed_models_are_rejected_identically() {
    let anvil = spawn_anvil();
    let provider = provider(&anvil);
    let harness = MlpPolicyHarness::deploy(provider.clone()).await.unwrap();
    let mut rng = seeded_rng();

    let mut models = Vec::with_capacity(INVALID_CASES);
    for _ in 0..INVALID_CASES {
        let valid = random_model(&mut rng);
        models.push(corrupt(&mut rng, valid));
    }
    let mut rejected = 0;
    for chunk in models.chunks(100) {
        let reverts = harness
            .validateBatch(chunk.iter().cloned().map(Bytes::from).collect())
            .gas(CALL_GAS)
            .call()
            .await
            .unwrap();
        for (model, revert) in chunk.iter().zip(reverts) {
            let expected = match Model::from_bytes(model) {
                Ok(_) => Bytes::new(),
                Err(err) => {
                    rejected += 1;
                    expected_revert(&err)
                }
            };
            assert_eq!(revert, expected, "model 0x{}", alloy::hex::encode(model));
        }
    }
    eprintln!("{rejected} of {INVALID_CASES} corrupted models rejected, identically");
    // Coverage of the refusal paths, not a rate: half the corruptions (a byte anywhere) are often
    // still valid models, so about half are rejected. A quarter is ten standard deviations below.
    assert!(
        rejected >= INVALID_CASES / 4,
        "only {rejected} of {INVALID_CASES} corrupted models were rejected"
    );
}

#[tokio::test]
async fn encodings_and_agent_hash_agree_with_solidity() {
    let anvil = spawn_anvil();
    let provider = provider(&anvil);
    let harness = MlpPolicyHarness::deploy(provider.clone()).await.unwrap();
    let mut rng = seeded_rng();
    for _ in 0..30 {
        let input = random_input(&mut rng);
        let reencoded = harness.reencodeInput(input.encode()).call().await.unwrap();
        assert_eq!(reencoded, input.encode());
        assert_eq!(AgentInput::decode(&reencoded).unwrap(), input);

        let params = random_params(&mut rng);
        let model_hash = B256::from(rng.r#gen::<[u8; 32]>());
        let on_chain = harness
            .agentHash(model_hash, params.encode())
            .call()
            .await
            .unwrap();
        assert_eq!(on_chain, warden_agent::agent_hash(model_hash, &params));
    }
}

/// A snapshot like the ones a task manager takes: a real pool, a funded vault, a price walk.
fn realistic_input(rng: &mut StdRng) -> AgentInput {
    let mut price = wad(rng.gen_range(1_000..=4_000));
    let regime: i64 = rng.gen_range(-30..=30);
    let history = (0..rng.gen_range(16..=32))
        .map(|_| {
            let bps = (10_000 + regime + rng.gen_range(-150..=150)) as u64;
            price = price * U256::from(bps) / U256::from(10_000u64);
            price
        })
        .collect::<Vec<_>>();
    let latest = *history.last().unwrap();
    let twap =
        history.iter().fold(U256::ZERO, |sum, price| sum + *price) / U256::from(history.len());
    let base_reserve = wad(rng.gen_range(1_000..=100_000));
    let quote_reserve = base_reserve * latest / wad(1);
    AgentInput {
        vault: Address::from(rng.r#gen::<[u8; 20]>()),
        tokenBase: Address::from(rng.r#gen::<[u8; 20]>()),
        tokenQuote: Address::from(rng.r#gen::<[u8; 20]>()),
        reserveBase: U112::from(base_reserve),
        reserveQuote: U112::from(quote_reserve),
        balanceBase: wad(rng.gen_range(0..=100)),
        balanceQuote: wad(rng.gen_range(0..=300_000)),
        priceHistory: history,
        twapPrice: twap,
        timestamp: rng.gen_range(1_700_000_000..=1_800_000_000),
    }
}

#[tokio::test]
async fn reference_verifier_agrees_with_the_reference_agent() {
    let anvil = spawn_anvil();
    let provider = provider(&anvil);
    let mut rng = seeded_rng();
    let router = Address::from(rng.r#gen::<[u8; 20]>());
    let agent = reference_agent(router).unwrap();
    let p = agent.params();
    let verifier = MlpAgentVerifier::deploy(
        provider.clone(),
        Bytes::from_static(REFERENCE_MODEL_BYTES),
        MlpPolicy::Params {
            router: p.router,
            slippageBps: p.slippage_bps,
            deadlineSeconds: p.deadline_seconds,
            maxSizeBps: p.max_size_bps,
            sizeBpsPerLogit: p.size_bps_per_logit,
            maxTradeBps: p.max_trade_bps,
        },
    )
    .await
    .unwrap();

    assert_eq!(
        verifier.agentHash().call().await.unwrap(),
        agent.agent_hash()
    );
    assert_eq!(
        verifier.modelHash().call().await.unwrap(),
        agent.model().hash()
    );
    assert_eq!(
        verifier.model().call().await.unwrap().as_ref(),
        REFERENCE_MODEL_BYTES
    );

    let mut kinds = [0usize; NUM_ACTIONS];
    let mut gas = Vec::new();
    for case in 0..VERIFIER_CASES {
        let input = if case % 4 == 3 {
            random_input(&mut rng)
        } else {
            realistic_input(&mut rng)
        };
        let expected = agent.decide(&input).unwrap();
        let call = verifier.evaluate(input.encode());
        let output = call.call().await.unwrap();
        assert_eq!(output, expected.encode(), "case {case}: {input:?}");
        kinds[usize::from(expected.kind.code())] += 1;
        if case % 4 != 3 && input.priceHistory.len() == 16 {
            gas.push((expected.kind, call.estimate_gas().await.unwrap()));
        }
    }
    eprintln!("reference verifier: actions (hold, buy, sell) {kinds:?}");
    for kind in [ActionKind::Hold, ActionKind::Buy, ActionKind::Sell] {
        let of_kind: Vec<u64> = gas
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, g)| *g)
            .collect();
        if let (Some(min), Some(max)) = (of_kind.iter().min(), of_kind.iter().max()) {
            eprintln!(
                "eth_estimateGas of evaluate (16 prices, {kind:?}): {min}..={max} over {} inputs \
                 (includes the 21000 intrinsic and calldata)",
                of_kind.len()
            );
        }
    }
    assert!(kinds[1] > 0 && kinds[2] > 0, "no swaps: {kinds:?}");

    // Inputs outside the domain revert with the documented errors.
    let mut short = realistic_input(&mut rng);
    short.priceHistory.truncate(15);
    let err = verifier.evaluate(short.encode()).call().await.unwrap_err();
    assert_eq!(
        err.as_revert_data().unwrap(),
        Bytes::from(
            HistoryTooShort {
                length: U256::from(15u8)
            }
            .abi_encode()
        )
    );
    let err = verifier
        .evaluate(Bytes::from(vec![0u8; 64]))
        .call()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_revert_data().unwrap(),
        Bytes::from(
            MalformedInput {
                length: U256::from(64u8)
            }
            .abi_encode()
        )
    );
}

// ---------------------------------------------------------------------------------------------
// WNET output chunks (issue #14): `network::output_chunk` against `WardenNetwork.outputChunkHash`
// ---------------------------------------------------------------------------------------------

/// Random layer chunks compared with the Solidity library.
const NETWORK_CASES: usize = 1_000;

/// One chunk of one random layer: how the layer works, which chunk, its input and its weights.
struct ChunkCase {
    step: Step,
    chunk: u32,
    first_neuron: usize,
    input: Vec<i8>,
    weights: Vec<u8>,
}

/// An input width with the word boundaries of the contract's loads over-represented.
fn random_width(rng: &mut StdRng) -> usize {
    match rng.gen_range(0..3) {
        0 => rng.gen_range(1..=5),
        1 => [31, 32, 33, 63, 64, 65][rng.gen_range(0..6)],
        _ => rng.gen_range(1..=96),
    }
}

/// A weight, the extremes over-represented.
fn random_weight(rng: &mut StdRng) -> i8 {
    match rng.gen_range(0..8) {
        0 => i8::MIN,
        1 => i8::MAX,
        2 => -127,
        _ => rng.r#gen(),
    }
}

fn random_chunk_case(rng: &mut StdRng) -> ChunkCase {
    let inputs = random_width(rng);
    let rows = rng.gen_range(1..=6).min(inputs);
    let kind = rng.gen_range(0..3);
    let last = kind == 2;
    let residual = kind == 1;
    let first_neuron = if residual {
        rng.gen_range(0..=inputs - rows)
    } else {
        rng.gen_range(0..10_000)
    };
    // A first layer's inputs are signed, a hidden layer's in [0, 127].
    let signed = rng.gen_bool(0.5);
    let input: Vec<i8> = (0..inputs)
        .map(|_| {
            if signed {
                rng.gen_range(-127..=127)
            } else {
                rng.gen_range(0..=127)
            }
        })
        .collect();
    let mut weights = Vec::with_capacity(rows * (inputs + 4));
    let mut biases = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<i8> = (0..inputs).map(|_| random_weight(rng)).collect();
        // Within a validated network's bound, |bias| + 127 Σ|w| ≤ 2^31 - 1, often at its edge.
        let room = i64::from(i32::MAX) - 127 * row.iter().map(|&w| i64::from(w).abs()).sum::<i64>();
        let magnitude = if rng.gen_bool(0.2) {
            room
        } else {
            rng.gen_range(0..=room.min(1 << 20))
        };
        let bias = if rng.r#gen() { magnitude } else { -magnitude };
        weights.extend(row.iter().map(|&w| w as u8));
        biases.push(i32::try_from(bias).unwrap());
    }
    for bias in biases {
        weights.extend_from_slice(&bias.to_be_bytes());
    }
    let (multiplier, shift) = if last {
        (0, 0)
    } else {
        match rng.gen_range(0..4) {
            // Halving: odd accumulators sit exactly on the rounding edge.
            0 => (1 << 30, 31),
            1 => (i32::MAX, rng.gen_range(1..=62)),
            2 => (1, rng.gen_range(1..=62)),
            _ => (rng.gen_range(1..=i32::MAX), rng.gen_range(1..=62)),
        }
    };
    ChunkCase {
        step: Step {
            index: rng.gen_range(0..64),
            last,
            residual,
            multiplier,
            shift,
        },
        chunk: rng.r#gen(),
        first_neuron,
        input,
        weights,
    }
}

#[tokio::test]
async fn network_chunks_agree_with_the_solidity_library() {
    let anvil = spawn_anvil();
    let provider = provider(&anvil);
    let harness = WardenNetworkHarness::deploy(provider.clone())
        .await
        .unwrap();
    let mut rng = seeded_rng();
    let (mut saturated, mut logits) = (0, 0);
    for case in (0..NETWORK_CASES).map(|_| random_chunk_case(&mut rng)) {
        let values =
            output_chunk(&case.step, case.first_neuron, &case.input, &case.weights).unwrap();
        let expected = chunk_hash(case.step.index, case.chunk, &values);
        saturated += values
            .iter()
            .filter(|&&value| !case.step.last && value == 127)
            .count();
        logits += usize::from(case.step.last);
        let layer = WardenNetwork::Layer {
            index: case.step.index,
            last: case.step.last,
            residual: case.step.residual,
            multiplier: case.step.multiplier,
            shift: case.step.shift,
        };
        let input: Vec<u8> = case.input.iter().map(|&value| value as u8).collect();
        let onchain = harness
            .outputChunkHash(
                layer,
                case.chunk,
                U256::from(case.first_neuron),
                Bytes::from(input),
                Bytes::from(case.weights.clone()),
            )
            .call()
            .await
            .unwrap();
        assert_eq!(
            onchain,
            expected,
            "layer {:?}, chunk {}, first neuron {}, input {:?}, weights {}",
            case.step,
            case.chunk,
            case.first_neuron,
            case.input,
            alloy::hex::encode(&case.weights)
        );
    }
    // The edges were reached, not only the middle.
    assert!(
        saturated > 0 && logits > 0,
        "saturated {saturated}, logit chunks {logits}"
    );
}

/// Random inputs whose price matrix is compared with `PriceMatrix.sol`.
const PRICE_MATRIX_CASES: usize = 300;
/// Random large-agent networks deployed as `NetworkAgentVerifier`s, and inputs run on each.
const NETWORK_AGENTS: usize = 12;
const RUNS_PER_AGENT: usize = 3;

/// The large agent's 256 features: `warden_agent::features::price_matrix` and `PriceMatrix.sol`
/// agree byte for byte on random snapshots (the edges of `random_prices` included), and refuse a
/// short history alike.
#[tokio::test]
async fn price_matrix_agrees_with_the_solidity_library() {
    let anvil = spawn_anvil();
    let provider = provider(&anvil);
    let harness = WardenNetworkHarness::deploy(provider.clone())
        .await
        .unwrap();
    let mut rng = seeded_rng();
    let (mut refused, mut saturated) = (0, 0);
    for case in 0..PRICE_MATRIX_CASES {
        let mut input = random_input(&mut rng);
        // Every twentieth case with fewer than sixteen prices.
        if case % 20 == 0 {
            let keep = rng.gen_range(0..16).min(input.priceHistory.len());
            input.priceHistory.truncate(keep);
        }
        let onchain = harness.priceMatrix(to_harness_input(&input)).call().await;
        match warden_agent::features::price_matrix(&input) {
            Ok(matrix) => {
                let expected: Vec<u8> = matrix.iter().map(|&value| value as u8).collect();
                assert_eq!(
                    onchain.unwrap().as_ref(),
                    expected.as_slice(),
                    "case {case}: {input:?}"
                );
                saturated += matrix.iter().filter(|value| value.abs() == 127).count();
            }
            Err(error) => {
                let revert = onchain.unwrap_err();
                let data = revert.as_revert_data().unwrap();
                assert_eq!(
                    &data[..4],
                    HistoryTooShort::SELECTOR.as_slice(),
                    "case {case}: {error}"
                );
                refused += 1;
            }
        }
    }
    assert!(
        refused > 0 && saturated > 0,
        "refused {refused}, saturated {saturated}"
    );
}

/// The large agent end to end against its verifier: for random networks (random widths, residual
/// layers, chunk sizes and parameters), `NetworkAgentVerifier` derives the agent hash and trace
/// length the Rust agent has, finds every step of a Rust run right (each output chunk from its
/// committed input and its proven weights, the decoding of the committed logits), and upholds the
/// step `NetworkAgent::find_fraud` finds in each of issue 14's three lies: one neuron changed and
/// carried through, another action on the honest trace, a chunk hash replaced.
#[tokio::test]
async fn network_agent_verifier_judges_rust_runs() {
    use warden_agent::NetworkAgent;
    use warden_agent::features::PRICE_MATRIX_WIDTH;
    use warden_agent::network::Network;
    use warden_bindings::network_verifier::MlpPolicy as NetworkParams;
    use warden_bindings::network_verifier::NetworkAgentVerifier::TraceStep;

    let anvil = spawn_anvil();
    let provider = provider(&anvil);
    let mut rng = seeded_rng();
    let (mut upheld, mut trades) = (0, 0);
    for case in 0..NETWORK_AGENTS {
        let hidden = rng.gen_range(1..=3);
        let mut widths: Vec<usize> = Vec::new();
        let mut residual = Vec::new();
        for layer in 0..hidden {
            let width = if layer > 0 && rng.gen_bool(0.5) {
                residual.push(layer);
                widths[layer - 1]
            } else {
                rng.gen_range(1..=24)
            };
            widths.push(width);
        }
        widths.push(NUM_ACTIONS);
        let rows = rng.gen_range(1..=8);
        let network =
            Network::generate(PRICE_MATRIX_WIDTH, &widths, &residual, rows, rng.r#gen()).unwrap();
        let params = random_params(&mut rng);
        let agent = NetworkAgent::new(network.clone(), params).unwrap();
        let verifier = warden_bindings::NetworkAgentVerifier::deploy(
            provider.clone(),
            Bytes::copy_from_slice(network.header()),
            network.weights_root(),
            NetworkParams::Params {
                router: params.router,
                slippageBps: params.slippage_bps,
                deadlineSeconds: params.deadline_seconds,
                maxSizeBps: params.max_size_bps,
                sizeBpsPerLogit: params.size_bps_per_logit,
                maxTradeBps: params.max_trade_bps,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            verifier.agentHash().call().await.unwrap(),
            agent.agent_hash(),
            "case {case}"
        );
        assert_eq!(
            verifier.networkHash().call().await.unwrap(),
            network.hash(),
            "case {case}"
        );

        for _ in 0..RUNS_PER_AGENT {
            let input = tradeable_input(&mut rng);
            let decision = agent.decide_traced(&input).unwrap();
            trades += usize::from(decision.action.kind != ActionKind::Hold);
            let features = warden_agent::features::price_matrix(&input).unwrap();
            let evaluation = network.evaluate(&features).unwrap();
            assert_eq!(
                U256::from(decision.trace.len()),
                verifier.traceLength().call().await.unwrap(),
                "case {case}"
            );
            let encoded = Bytes::from(input.encode().to_vec());
            let output = Bytes::from(decision.action.encode().to_vec());
            let logits: Vec<u8> = evaluation
                .logits
                .iter()
                .flat_map(|l| l.to_be_bytes())
                .collect();
            let layer_output = |layer: usize| -> Bytes {
                if layer + 1 == widths.len() {
                    Bytes::from(logits.clone())
                } else {
                    Bytes::from(
                        evaluation.hidden[layer]
                            .iter()
                            .map(|&v| v as u8)
                            .collect::<Vec<_>>(),
                    )
                }
            };
            let chunk_step = |layer: usize, chunk: usize| {
                let (_, siblings) = network.weight_proof(layer, chunk).unwrap();
                TraceStep {
                    kind: 1,
                    layer: layer as u16,
                    chunk: chunk as u32,
                    layerInput: if layer == 0 {
                        Bytes::new()
                    } else {
                        layer_output(layer - 1)
                    },
                    weights: Bytes::copy_from_slice(network.weight_chunk(layer, chunk).unwrap()),
                    siblings,
                }
            };
            let decode_step = TraceStep {
                kind: 2,
                layer: 0,
                chunk: 0,
                layerInput: layer_output(widths.len() - 1),
                weights: Bytes::new(),
                siblings: Vec::new(),
            };
            let judge = |output: Bytes, trace: Vec<B256>, step: TraceStep| {
                let verifier = verifier.clone();
                let encoded = encoded.clone();
                async move {
                    verifier
                        .disproves(encoded, output, trace, step)
                        .call()
                        .await
                        .unwrap()
                }
            };

            let mut positions = Vec::new();
            for (layer, shape) in network.layers().iter().enumerate() {
                for chunk in 0..shape.chunks(rows) {
                    positions.push((layer, chunk));
                    assert!(
                        !judge(
                            output.clone(),
                            decision.trace.clone(),
                            chunk_step(layer, chunk)
                        )
                        .await,
                        "case {case}: honest chunk {chunk} of layer {layer}"
                    );
                }
            }
            assert!(
                !judge(output.clone(), decision.trace.clone(), decode_step.clone()).await,
                "case {case}: honest decoding"
            );

            assert_eq!(
                agent.find_fraud(&input, &output, &decision.trace).unwrap(),
                None,
                "case {case}: the agent's own run"
            );

            // The three lies of issue 14; for each, the step the challenger finds is upheld.
            let mut lies: Vec<(&str, Bytes, Vec<B256>)> = Vec::new();
            // (a) One neuron of a hidden layer changed, the rest computed from it.
            let changed = rng.gen_range(0..widths.len() - 1);
            let mut hidden = evaluation.hidden.clone();
            let neuron = rng.gen_range(0..hidden[changed].len());
            hidden[changed][neuron] = if hidden[changed][neuron] == 127 {
                0
            } else {
                hidden[changed][neuron] + 1
            };
            let (carried_logits, carried_trace) = run_from(&network, &features, hidden, changed);
            let carried_action = agent.decode(carried_logits, &input);
            lies.push((
                "carried through",
                Bytes::from(carried_action.encode().to_vec()),
                carried_trace,
            ));
            // (b) The honest trace, another action.
            let other = if decision.action.kind == ActionKind::Hold {
                Action {
                    kind: ActionKind::Sell,
                    target: params.router,
                    value: U256::ZERO,
                    data: Bytes::from_static(b"x"),
                }
            } else {
                Action::hold()
            };
            lies.push((
                "another action",
                Bytes::from(other.encode().to_vec()),
                decision.trace.clone(),
            ));
            // (c) A trace inconsistent with its own output: one chunk hash replaced.
            let mut tampered = decision.trace.clone();
            let replaced = rng.gen_range(0..positions.len());
            tampered[replaced] = B256::from(rng.r#gen::<[u8; 32]>());
            lies.push(("replaced chunk hash", output.clone(), tampered));
            for (lie, lie_output, lie_trace) in lies {
                let step = agent
                    .find_fraud(&input, &lie_output, &lie_trace)
                    .unwrap()
                    .unwrap_or_else(|| panic!("case {case}: {lie} found"));
                assert!(
                    judge(lie_output, lie_trace, to_trace_step(step)).await,
                    "case {case}: {lie} disproved"
                );
                upheld += 1;
            }
        }
    }
    assert!(upheld > 0 && trades > 0, "upheld {upheld}, trades {trades}");
}

/// A run of `network` from its hidden layer `changed` on, that layer's values as given (the
/// earlier ones as given too): the logits and the whole trace, computed chunk by chunk with the
/// arithmetic `evaluate` uses.
fn run_from(
    network: &warden_agent::network::Network,
    features: &[i8],
    mut hidden: Vec<Vec<i8>>,
    changed: usize,
) -> ([i32; NUM_ACTIONS], Vec<B256>) {
    let rows = network.chunk_rows();
    let layers = network.layers();
    let mut trace = Vec::new();
    let mut logits = [0i32; NUM_ACTIONS];
    for (index, shape) in layers.iter().enumerate() {
        let last = index + 1 == layers.len();
        let values: Vec<u8> = if index <= changed {
            hidden[index].iter().map(|&v| v as u8).collect()
        } else {
            let input = if index == 0 {
                features.to_vec()
            } else {
                hidden[index - 1].clone()
            };
            let step = network.step(index).unwrap();
            (0..shape.chunks(rows))
                .flat_map(|chunk| {
                    let weights = network.weight_chunk(index, chunk).unwrap();
                    output_chunk(&step, chunk * rows, &input, weights).unwrap()
                })
                .collect()
        };
        let width = if last { 4 } else { 1 };
        for (chunk, slice) in values.chunks(rows * width).enumerate() {
            trace.push(chunk_hash(index as u16, chunk as u32, slice));
        }
        if last {
            for (logit, bytes) in logits.iter_mut().zip(values.chunks(4)) {
                *logit = i32::from_be_bytes(bytes.try_into().unwrap());
            }
        } else {
            hidden[index] = values.iter().map(|&v| v as i8).collect();
        }
    }
    (logits, trace)
}

/// A fraud step as `NetworkAgentVerifier.disproves` takes it.
fn to_trace_step(
    step: warden_agent::network_agent::FraudStep,
) -> warden_bindings::network_verifier::NetworkAgentVerifier::TraceStep {
    use warden_agent::network_agent::FraudStep;
    use warden_bindings::network_verifier::NetworkAgentVerifier::TraceStep;
    let kind = step.kind();
    match step {
        FraudStep::TraceLength { .. } => TraceStep {
            kind,
            layer: 0,
            chunk: 0,
            layerInput: Bytes::new(),
            weights: Bytes::new(),
            siblings: Vec::new(),
        },
        FraudStep::OutputChunk {
            layer,
            chunk,
            layer_input,
            weights,
            siblings,
        } => TraceStep {
            kind,
            layer: layer as u16,
            chunk: chunk as u32,
            layerInput: Bytes::from(layer_input),
            weights: Bytes::from(weights),
            siblings,
        },
        FraudStep::DecodedAction { logits } => TraceStep {
            kind,
            layer: 0,
            chunk: 0,
            layerInput: Bytes::from(logits),
            weights: Bytes::new(),
            siblings: Vec::new(),
        },
    }
}

/// An `AgentInput` as the harness's binding types it.
fn to_harness_input(
    input: &AgentInput,
) -> warden_bindings::harness::WardenNetworkHarness::AgentInput {
    warden_bindings::harness::WardenNetworkHarness::AgentInput {
        vault: input.vault,
        tokenBase: input.tokenBase,
        tokenQuote: input.tokenQuote,
        reserveBase: input.reserveBase,
        reserveQuote: input.reserveQuote,
        balanceBase: input.balanceBase,
        balanceQuote: input.balanceQuote,
        priceHistory: input.priceHistory.clone(),
        twapPrice: input.twapPrice,
        timestamp: input.timestamp,
    }
}
