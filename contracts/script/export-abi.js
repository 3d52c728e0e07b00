#!/usr/bin/env node
// Exports what the Rust bindings (crates/bindings) need from forge's artifacts - each contract's ABI
// and creation bytecode - into committed JSON files, so the Rust workspace builds without forge.
//
//   node contracts/script/export-abi.js          rewrite crates/bindings/abi/ from contracts/out/
//   node contracts/script/export-abi.js --check  fail if contracts/out/ would change a committed file
//
// Run `forge build` first. `make abi` does both; `make test` runs the check.
'use strict';
const fs = require('fs');
const path = require('path');

const repo = path.join(__dirname, '..', '..');
const out = path.join(repo, 'contracts', 'out');
const abiDir = path.join(repo, 'crates', 'bindings', 'abi');

// Every contract the bindings generate code for: `<source file>:<contract>`.
const CONTRACTS = [
  'WardenRegistry.sol:WardenRegistry',
  'WardenTaskManager.sol:WardenTaskManager',
  'WardenChallenges.sol:WardenChallenges',
  'WardenRestitution.sol:WardenRestitution',
  'WardenRewards.sol:WardenRewards',
  'UniswapV2InputSource.sol:UniswapV2InputSource',
  'WardenVault.sol:WardenVault',
  'MlpAgentVerifier.sol:MlpAgentVerifier',
  'MlpVerifierFactory.sol:MlpVerifierFactory',
  'NetworkAgentVerifier.sol:NetworkAgentVerifier',
  'StakeToken.sol:StakeToken',
  'OneToOneStrategy.sol:OneToOneStrategy',
  'DevnetPauserRegistry.sol:DevnetPauserRegistry',
  'DevnetToken.sol:DevnetToken',
  'ERC1967Proxy.sol:ERC1967Proxy',
  // Test harnesses (the bindings' `test-harness` feature).
  'DigestHarness.sol:DigestHarness',
  'MlpPolicyHarness.sol:MlpPolicyHarness',
  'WardenNetworkHarness.sol:WardenNetworkHarness',
];

// A source that a restricted file's compilation also needs (foundry.toml's compilation_restrictions)
// is compiled under both profiles, and forge then names its artifacts `<name>.<profile>.json`. The
// default profile's is the one deployed. Where both names are present, one is left over from a build
// under other settings: the newer is forge's current output.
function artifactPathOf(file, name) {
  const candidates = [`${name}.json`, `${name}.default.json`].map((f) => path.join(out, file, f));
  const found = candidates
    .filter((candidate) => fs.existsSync(candidate))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  if (found.length === 0) {
    throw new Error(`${candidates[0]} is missing: run \`forge build\` in contracts/ first`);
  }
  return found[0];
}

function exported(file, name) {
  const artifactPath = artifactPathOf(file, name);
  const artifact = JSON.parse(fs.readFileSync(artifactPath, 'utf8'));
  const bytecode = artifact.bytecode && artifact.bytecode.object;
  if (typeof bytecode !== 'string' || !Array.isArray(artifact.abi)) {
    throw new Error(`${artifactPath}: no abi or bytecode`);
  }
  return JSON.stringify({ abi: artifact.abi, bytecode }, null, 1) + '\n';
}

function main() {
  const check = process.argv.includes('--check');
  const expected = new Map();
  for (const entry of CONTRACTS) {
    const [file, name] = entry.split(':');
    expected.set(`${name}.json`, exported(file, name));
  }
  if (!check) {
    fs.mkdirSync(abiDir, { recursive: true });
    for (const stale of fs.readdirSync(abiDir)) {
      if (stale.endsWith('.json') && !expected.has(stale)) fs.unlinkSync(path.join(abiDir, stale));
    }
    for (const [file, text] of expected) fs.writeFileSync(path.join(abiDir, file), text);
    console.log(`wrote ${expected.size} ABI files to ${path.relative(repo, abiDir)}/`);
    return 0;
  }
  const drift = [];
  for (const [file, text] of expected) {
    const committed = path.join(abiDir, file);
    if (!fs.existsSync(committed)) drift.push(`${file}: missing`);
    else if (fs.readFileSync(committed, 'utf8') !== text) drift.push(`${file}: differs from forge's build`);
  }
  if (fs.existsSync(abiDir)) {
    for (const file of fs.readdirSync(abiDir)) {
      if (file.endsWith('.json') && !expected.has(file)) drift.push(`${file}: no longer exported`);
    }
  }
  if (drift.length > 0) {
    console.error('ABI drift: the committed bindings do not match the contracts:');
    for (const line of drift) console.error(`  crates/bindings/abi/${line}`);
    console.error('Run `make abi` and commit crates/bindings/abi/.');
    return 1;
  }
  console.log(`ABI check: ${expected.size} committed ABI files match the contracts`);
  return 0;
}

try {
  process.exit(main());
} catch (error) {
  console.error(`export-abi: ${error.message}`);
  process.exit(2);
}
