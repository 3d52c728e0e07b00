#!/usr/bin/env node
// The table `make bench` ends with: reads the results the benches just wrote and prints one
// Markdown table per section (paste-able into an issue as is).
//
// Criterion results come from `<criterion-dir>/<group>/<parameter>/new/estimates.json`, field
// `mean.point_estimate` (nanoseconds per iteration). A result that is missing prints as "—" and is
// named on stderr; the script still prints the rest.
//
// To add a measurement (a forge gas table, say), append a section to SECTIONS: a title, the column
// headers, and a function returning the rows (arrays of cells, already formatted). A section may
// read any file; `criterionMs` is the helper for criterion groups.
//
// Usage: node scripts/bench-table.js [criterion-dir]
//   (default: $CARGO_TARGET_DIR/criterion, else target/criterion, from the repository root)
"use strict";

const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const criterionDir = path.resolve(
  root,
  process.argv[2] || path.join(process.env.CARGO_TARGET_DIR || "target", "criterion"),
);

const missing = [];

// Mean time per iteration of one criterion benchmark, in milliseconds; null if it has not run.
function criterionMs(group, parameter) {
  const file = path.join(criterionDir, group, String(parameter), "new", "estimates.json");
  let estimates;
  try {
    estimates = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    const shown = path.relative(root, file).startsWith("..") ? file : path.relative(root, file);
    missing.push(`${shown}: ${error.code || error.message}`);
    return null;
  }
  return estimates.mean.point_estimate / 1e6;
}

// Three significant figures, never in exponent notation.
function ms(value) {
  if (value === null) return "—";
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

function ratio(numerator, denominator) {
  if (numerator === null || denominator === null) return "—";
  return `${(numerator / denominator).toFixed(1)}×`;
}

const OPERATORS = [10, 100, 1000];

const SECTIONS = [
  {
    title:
      "Aggregator, one task: ms per task (criterion mean; equal stake, one in ten operators not signing)",
    columns: ["operators", "Warden intake", "eigensdk BlsAggregatorService", "eigensdk / Warden"],
    rows: () =>
      OPERATORS.map((operators) => {
        const warden = criterionMs("intake_per_task", operators);
        const eigensdk = criterionMs("eigensdk_bls_aggregator_per_task", operators);
        return [operators.toLocaleString("en-US"), ms(warden), ms(eigensdk), ratio(eigensdk, warden)];
      }),
  },
  {
    title:
      "Aggregator under forged submissions: ms per task until the quorum (criterion mean; see SECURITY.md §10)",
    columns: [
      "operators",
      "honest, compressed",
      "forged after genuine",
      "forged before each genuine",
      "non-signers' forgeries spread",
    ],
    rows: () =>
      OPERATORS.map((operators) => [
        operators.toLocaleString("en-US"),
        ms(criterionMs("intake_per_task_compressed", operators)),
        ms(criterionMs("intake_forged_after_genuine", operators)),
        ms(criterionMs("intake_forged_mixed", operators)),
        ms(criterionMs("intake_forged_spread", operators)),
      ]),
  },
  {
    title:
      "Operator, one large agent: ms per forward pass and trace (criterion mean; WNET, random weights, 32 neurons per chunk)",
    columns: ["parameters", "forward pass and chunk hashes"],
    rows: () =>
      ["1.8M", "10.5M"].map((parameters) => [parameters, ms(criterionMs("network_evaluate", parameters))]),
  },
];

function table({ title, columns, rows }) {
  const body = rows();
  const widths = columns.map((column, i) =>
    Math.max(column.length, ...body.map((row) => String(row[i]).length)),
  );
  // The first column is a label, left-aligned; the others are figures, right-aligned.
  const line = (cells) =>
    `| ${cells
      .map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i])))
      .join(" | ")} |`;
  const rule = `|${widths.map((width, i) => (i === 0 ? `:${"-".repeat(width + 1)}` : `${"-".repeat(width + 1)}:`)).join("|")}|`;
  return [`### ${title}`, "", line(columns), rule, ...body.map(line)].join("\n");
}

console.log(SECTIONS.map(table).join("\n\n"));
for (const entry of missing) console.error(`bench-table: no result: ${entry}`);
