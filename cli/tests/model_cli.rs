//! `warden model` as a user runs it: `generate` writes the large preset every machine writes,
//! `inspect` reads it back with the same hashes and names the problem of a malformed file.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::warden;

use alloy::primitives::Address;
use warden_agent::Params;
use warden_agent::network_agent::{Preset, network_agent_hash};

#[test]
fn model_generate_writes_the_preset_and_inspect_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("large.wnet");
    let file_arg = file.to_str().unwrap();
    let router = Address::repeat_byte(0x42);
    let router_arg = router.to_string();
    let output = warden(&[
        "model",
        "generate",
        "--out",
        file_arg,
        "--router",
        &router_arg,
    ]);
    assert!(output.status.success(), "{output:?}");

    let expected = Preset::Large.generate().unwrap();
    assert_eq!(
        std::fs::read(&file).unwrap(),
        expected.as_bytes(),
        "the preset's bytes"
    );
    let agent_hash = network_agent_hash(expected.hash(), &Params::reference(router));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains(&expected.hash().to_string()), "{stdout}");
    assert!(stdout.contains(&agent_hash.to_string()), "{stdout}");
    assert!(stdout.contains("1839107"), "{stdout}");

    // The same file again is fine; another is not overwritten.
    assert!(
        warden(&["model", "generate", "--out", file_arg])
            .status
            .success()
    );
    let other = dir.path().join("other.wnet");
    std::fs::write(&other, b"not a model").unwrap();
    let refused = warden(&["model", "generate", "--out", other.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert_eq!(std::fs::read(&other).unwrap(), b"not a model");

    let inspected = warden(&["model", "inspect", file_arg, "--router", &router_arg]);
    assert!(inspected.status.success(), "{inspected:?}");
    let stdout = String::from_utf8(inspected.stdout).unwrap();
    assert!(stdout.contains(&agent_hash.to_string()), "{stdout}");
    assert!(stdout.contains("256 → 1024 → 1024 → 512 → 3"), "{stdout}");

    let malformed = warden(&["model", "inspect", other.to_str().unwrap()]);
    assert!(!malformed.status.success());
    let stderr = String::from_utf8(malformed.stderr).unwrap();
    assert!(stderr.contains("not a WNET network file"), "{stderr}");
}
