#!/usr/bin/env node
// Contract-size gate: prints the runtime size of every contract Warden deploys from `src/` (forge's
// artifacts in `out/`, so run `forge build` first) and exits 1 if one exceeds the limit.
//
// The limit, 22 KB (22 528 bytes), leaves 2 KB of headroom under EIP-170's 24 576 bytes: a contract
// that grows past it must be split before it becomes undeployable. Interfaces and abstract
// contracts (no bytecode) and libraries (only ever inlined or linked, never deployed by Warden) are
// skipped.
//
// Usage: node script/sizes.js [out-dir] (from `contracts/`; `make test` runs it).
"use strict";

const fs = require("fs");
const path = require("path");

const LIMIT = 22 * 1024;
const EIP170 = 24576;
const root = path.resolve(__dirname, "..");
const outDir = path.resolve(root, process.argv[2] || "out");

function artifacts(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return artifacts(full);
    return entry.name.endsWith(".json") ? [full] : [];
  });
}

function isLibrary(source, name) {
  const text = fs.readFileSync(path.join(root, source), "utf8");
  return new RegExp(`^\\s*library\\s+${name}\\b`, "m").test(text);
}

if (!fs.existsSync(outDir)) {
  console.error(`sizes: ${outDir} does not exist; run forge build first`);
  process.exit(2);
}

const rows = [];
for (const file of artifacts(outDir)) {
  const artifact = JSON.parse(fs.readFileSync(file, "utf8"));
  const target = artifact.metadata?.settings?.compilationTarget;
  if (!target) continue;
  const [[source, name]] = Object.entries(target);
  if (!source.startsWith("src/")) continue;
  const code = artifact.deployedBytecode?.object ?? "0x";
  const size = (code.length - 2) / 2;
  if (size === 0 || isLibrary(source, name)) continue;
  // A source compiled under two compiler profiles has an artifact for each, `<name>.<profile>.json`.
  rows.push({ name: path.basename(file, ".json"), source, size });
}
if (rows.length === 0) {
  console.error(`sizes: no contract artifacts from src/ under ${outDir}`);
  process.exit(2);
}

rows.sort((a, b) => b.size - a.size);
const width = Math.max(...rows.map((row) => row.name.length));
console.log(`${"contract".padEnd(width)}  runtime bytes  headroom to ${LIMIT}`);
let failed = false;
for (const row of rows) {
  const over = row.size > LIMIT;
  failed ||= over;
  const note = over ? `  OVER THE ${LIMIT}-BYTE GATE` : row.size > EIP170 ? "  over EIP-170" : "";
  console.log(`${row.name.padEnd(width)}  ${String(row.size).padStart(13)}  ${String(LIMIT - row.size).padStart(8)}${note}`);
}
if (failed) {
  console.error(`sizes: a contract's runtime exceeds ${LIMIT} bytes; split it before it reaches EIP-170's ${EIP170}`);
  process.exit(1);
}
console.log(`sizes: all ${rows.length} deployable contracts within ${LIMIT} bytes`);
