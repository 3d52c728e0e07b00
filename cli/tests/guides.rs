//! The guides in `docs/` give commands a user types; each must be one the binaries take. Every
//! `warden`, `warden-operator`, `warden-aggregator` and `warden-challenger` command of a guide's
//! `sh` blocks is parsed by the binary's own command line parser (placeholders such as
//! `$RPC_URL` filled in), and every metric the alert rules name is one a Warden service serves.
//! `cli/tests/public_network.rs` runs the same commands, in the guides' order, on a chain set up
//! like a public network.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use clap::Parser;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

const GUIDES: [&str; 4] = [
    "docs/avs-deployment.md",
    "docs/operator-guide.md",
    "docs/vault-owner-guide.md",
    "docs/watchtower-guide.md",
];

/// The command lines of a markdown file's `sh` blocks, continuation lines joined.
fn shell_commands(markdown: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in markdown.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_block = !in_block && trimmed == "```sh";
            continue;
        }
        if !in_block || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(start) => {
                pending.push_str(start.trim_end());
                pending.push(' ');
            }
            None => {
                pending.push_str(trimmed);
                commands.push(std::mem::take(&mut pending));
            }
        }
    }
    commands
}

/// The placeholders the guides use, filled with values of the right shape.
fn fill(command: &str) -> String {
    command
        .replace("$RPC_URL", "https://rpc.example")
        .replace("$OPERATOR", "0x00000000000000000000000000000000000000aa")
        .replace("$STRATEGY", "0x00000000000000000000000000000000000000bb")
}

fn parse(command: &str) -> Result<(), String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let error = |error: clap::Error| error.to_string();
    match words.first().copied() {
        Some("warden") => warden_cli::Command::try_parse_from(&words)
            .map(drop)
            .map_err(error),
        Some("warden-operator") => warden_operator::cli::Command::try_parse_from(&words)
            .map(drop)
            .map_err(error),
        Some("warden-aggregator") => warden_aggregator::cli::Command::try_parse_from(&words)
            .map(drop)
            .map_err(error),
        Some("warden-challenger") => warden_challenger::cli::Command::try_parse_from(&words)
            .map(drop)
            .map_err(error),
        _ => Ok(()),
    }
}

#[test]
fn every_command_in_the_guides_is_one_the_binaries_take() {
    for guide in GUIDES {
        let text = std::fs::read_to_string(repository().join(guide)).unwrap();
        let commands: Vec<String> = shell_commands(&text)
            .into_iter()
            .filter(|command| command.starts_with("warden"))
            .collect();
        assert!(!commands.is_empty(), "{guide} gives no command");
        for command in commands {
            let filled = fill(&command);
            assert!(
                !filled.contains('$'),
                "{guide}: unknown placeholder in {command:?}"
            );
            if let Err(error) = parse(&filled) {
                panic!("{guide}: {command:?} is not a command the binary takes:\n{error}");
            }
        }
    }
}

#[test]
fn a_wrong_flag_in_a_guide_would_be_caught() {
    assert!(
        parse("warden-operator register --rpc-url https://rpc.example --keystore-dir k").is_ok()
    );
    assert!(parse("warden-operator register --rpc-url https://rpc.example --keystore k").is_err());
    assert_eq!(
        shell_commands("```sh\nwarden a \\\n  --b c\n# comment\n```\n```toml\nwarden = 1\n```"),
        vec!["warden a --b c".to_owned()]
    );
}

/// Every `warden_*` and `eigen_*` name in the alert rules is a metric some service registers.
#[test]
fn the_alert_rules_name_only_metrics_the_services_serve() {
    let rules =
        std::fs::read_to_string(repository().join("docs/prometheus/warden-alerts.yml")).unwrap();
    let parsed: serde_yaml::Value = serde_yaml::from_str(&rules).unwrap();
    let mut sources = String::new();
    for dir in [
        "aggregator/src",
        "operator/src",
        "challenger/src",
        "crates/runtime/src",
    ] {
        collect_sources(&repository().join(dir), &mut sources);
    }
    let groups = parsed["groups"].as_sequence().unwrap();
    let mut named = 0;
    for rule in groups
        .iter()
        .flat_map(|group| group["rules"].as_sequence().unwrap())
    {
        let expr = rule["expr"].as_str().unwrap();
        for metric in metric_names(expr) {
            named += 1;
            assert!(
                sources.contains(&format!("\"{metric}\"")),
                "alert {:?} names {metric}, which no service registers",
                rule["alert"]
            );
        }
    }
    assert!(named >= 6, "only {named} metrics named");
}

fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (start, _) in expr
        .match_indices("warden_")
        .chain(expr.match_indices("eigen_"))
    {
        let name: String = expr[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        names.push(name);
    }
    names
}

fn collect_sources(dir: &Path, into: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_sources(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}
