//! Joining a chain set up like a public network with the commands the guides give, run as a user
//! runs them: EigenLayer is there first (another key deployed it), its operators registered on
//! their own and their stakers delegated; Warden is deployed with `warden avs deploy` from a
//! fresh keystore funded by a transfer, and an operator joins with `warden-operator register`,
//! which skips what EigenLayer already has and only allocates and registers.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use warden_deployer::DeployConfig;
use warden_deployer::existing::{self, ExistingEigenLayer};
use warden_runtime::deployment::DeploymentFile;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `program args…` to completion; its stdout, after checking it succeeded.
fn succeeded(program: &Path, args: &[&str]) -> String {
    let output = run(program, args);
    assert!(
        output.status.success(),
        "{} {args:?}\nstdout:\n{}\nstderr:\n{}",
        program.display(),
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("running {}: {error}", program.display()))
}

/// A chain set up like a public network, and a directory for what the user keeps.
struct PublicChain {
    _anvil: AnvilInstance,
    rpc_url: String,
    dir: tempfile::TempDir,
    existing: ExistingEigenLayer,
}

impl PublicChain {
    async fn start(operators: usize) -> Self {
        let anvil = warden_testkit::anvil::anvil().try_spawn().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let existing = existing::prepare(
            &anvil.endpoint_url(),
            dir.path(),
            &DeployConfig::new(operators),
        )
        .await
        .unwrap();
        std::fs::write(
            dir.path().join("eigenlayer.json"),
            serde_json::to_string_pretty(&existing.network).unwrap(),
        )
        .unwrap();
        Self {
            rpc_url: anvil.endpoint(),
            _anvil: anvil,
            dir,
            existing,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    fn chain(&self) -> impl Provider + Clone {
        alloy::providers::ProviderBuilder::new().connect_http(self.rpc_url.parse().unwrap())
    }

    /// What a funder outside Warden does: send `ether` to `to`.
    async fn transfer(&self, to: Address, ether: u128) {
        common::transfer(&self.rpc_url, to, U256::from(ether * 10u128.pow(18))).await;
    }
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn warden() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_warden"))
}

fn address_line(output: &str, prefix: &str) -> Address {
    output
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{output}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn an_eigenlayer_operator_with_delegated_stake_joins_warden_with_the_guides_commands() {
    let public = PublicChain::start(1).await;
    let operator_binary = warden_testkit::workspace_binary("warden-operator").unwrap();
    let chain = public.chain();
    let rpc_url = public.rpc_url.as_str();
    let operator = &public.existing.operators[0];
    assert!(
        public.existing.stakers.len() == 1,
        "one staker delegated to the operator"
    );

    // The AVS: a fresh keystore, funded by a transfer, deploys Warden.
    std::fs::write(public.path("password"), "deployer password\n").unwrap();
    let created = succeeded(
        &warden(),
        &[
            "keys",
            "new-account",
            &public.path("deployer.json"),
            "--password-file",
            &public.path("password"),
        ],
    );
    let deployer = address_line(&created, "address:");
    assert_ne!(deployer, public.existing.deployer);
    public.transfer(deployer, 10).await;
    let strategy = public.existing.strategy.to_string();

    // The wrong network is refused before anything is sent: another chain's address book, and
    // a description of this chain's core with an address that holds no code.
    let mut no_code = public.existing.network.clone();
    no_code.contracts.allocation_manager = Address::repeat_byte(0x42);
    std::fs::write(
        public.path("no-code.json"),
        serde_json::to_string(&no_code).unwrap(),
    )
    .unwrap();
    let avs_deploy = |flag: &str, target: &str, out: &str| {
        run(
            &warden(),
            &[
                "avs",
                "deploy",
                flag,
                target,
                "--rpc-url",
                rpc_url,
                "--keystore",
                &public.path("deployer.json"),
                "--password-file",
                &public.path("password"),
                "--strategy",
                &strategy,
                "--metadata-uri",
                "https://warden.example/avs.json",
                "--out",
                &public.path(out),
            ],
        )
    };
    for (flag, target, error) in [
        ("--network", "hoodi".to_owned(), "chain 560048"),
        ("--eigenlayer", public.path("no-code.json"), "has no code"),
    ] {
        let refused = avs_deploy(flag, &target, "refused");
        assert!(!refused.status.success());
        assert!(
            text(&refused.stderr).contains(error),
            "{}",
            text(&refused.stderr)
        );
    }
    assert_eq!(chain.get_transaction_count(deployer).await.unwrap(), 0);
    let deployed = avs_deploy("--eigenlayer", &public.path("eigenlayer.json"), "warden");
    assert!(deployed.status.success(), "{}", text(&deployed.stderr));
    let deployment_file = public.path("warden/deployment.json");
    let deployment = DeploymentFile::read(Path::new(&deployment_file)).unwrap();
    let operator_address = operator.address.to_string();

    // Before joining: an EigenLayer operator with delegated stake, not in Warden's set.
    let status = |expect: &[&str]| {
        let out = succeeded(
            &operator_binary,
            &[
                "status",
                "--rpc-url",
                rpc_url,
                "--deployment",
                &deployment_file,
                "--operator",
                &operator_address,
            ],
        );
        for line in expect {
            assert!(out.contains(line), "{line:?} missing from:\n{out}");
        }
        println!("{out}");
        out
    };
    // A deployment file of another chain is refused before anything is read from this one.
    let mut elsewhere = deployment.clone();
    elsewhere.chain_id = 1;
    std::fs::write(
        public.path("elsewhere.json"),
        serde_json::to_string(&elsewhere).unwrap(),
    )
    .unwrap();
    let refused = run(
        &operator_binary,
        &[
            "status",
            "--rpc-url",
            rpc_url,
            "--deployment",
            &public.path("elsewhere.json"),
            "--operator",
            &operator_address,
        ],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("describes chain 1"),
        "{}",
        text(&refused.stderr)
    );
    status(&[
        "EigenLayer operator:  yes",
        "allocated to Warden: 0 of magnitude 1000000000000000000 (0.00 %)",
        "registered:           no",
        "next step:            allocate",
    ]);

    // Joining: nothing EigenLayer already has is sent again.
    let nonce = chain.get_transaction_count(operator.address).await.unwrap();
    let keystore_dir = operator.keystores.bls.parent().unwrap().to_str().unwrap();
    // `register` and `exit` act as the operator, from its keystores.
    let as_operator = |command: &'static str| {
        [
            command,
            "--rpc-url",
            rpc_url,
            "--deployment",
            deployment_file.as_str(),
            "--keystore-dir",
            keystore_dir,
            "--password-file",
            operator.password_file.to_str().unwrap(),
        ]
    };
    let register = as_operator("register");
    let joined = succeeded(&operator_binary, &register);
    assert!(
        joined.contains("found: already an EigenLayer operator"),
        "{joined}"
    );
    assert!(!joined.contains("registerAsOperator"), "{joined}");
    assert!(!joined.contains("depositIntoStrategy"), "{joined}");
    assert!(
        joined.contains("sent:  AllocationManager.modifyAllocations")
            && joined.contains("sent:  AllocationManager.registerForOperatorSets"),
        "{joined}"
    );
    assert_eq!(
        chain.get_transaction_count(operator.address).await.unwrap(),
        nonce + 2
    );
    status(&[
        "allocated to Warden: 1000000000000000000 of magnitude 1000000000000000000 (100.00 %)",
        "registered:           yes",
    ]);

    // Run again: already done, nothing sent.
    let again = succeeded(&operator_binary, &register);
    assert!(
        again.contains("found: already in Warden's operator set"),
        "{again}"
    );
    assert_eq!(
        chain.get_transaction_count(operator.address).await.unwrap(),
        nonce + 2
    );
    assert_eq!(deployment.warden.strategies, vec![public.existing.strategy]);

    // A vault owner: a fresh keystore, ether by transfer, tokens from the market, and the
    // documented policy file with this chain's market in it.
    let created = succeeded(
        &warden(),
        &[
            "keys",
            "new-account",
            &public.path("owner.json"),
            "--password-file",
            &public.path("password"),
        ],
    );
    let owner = address_line(&created, "address:");
    public.transfer(owner, 10).await;
    let market = public.existing.market;
    let vault_file = public.path("vault.json");
    let policy = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/vault-policy.toml"),
    )
    .unwrap()
    .replace(
        "0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D",
        &market.router.to_string(),
    )
    .replace(
        "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc",
        &market.pair.to_string(),
    )
    .replace(
        "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        &market.weth.to_string(),
    )
    .replace(
        "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
        &market.dollar.to_string(),
    )
    // anvil mines a block, a second later, per transaction.
    .replace(
        "min_observation_interval = 12",
        "min_observation_interval = 1",
    );
    std::fs::write(public.path("policy.toml"), policy).unwrap();
    let vault_args = |command: &'static str, file: &str| -> Vec<String> {
        let mut args: Vec<String> = [
            "vault",
            command,
            "--rpc-url",
            rpc_url,
            "--deployment",
            &deployment_file,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        if command == "create" {
            args.extend(
                [
                    "--policy",
                    &public.path("policy.toml"),
                    "--keystore",
                    &public.path("owner.json"),
                    "--password-file",
                    &public.path("password"),
                    "--out",
                    file,
                ]
                .map(str::to_owned),
            );
        } else {
            args.extend(["--vault", file].map(str::to_owned));
        }
        args
    };
    // Without the tokens the policy moves in, nothing is sent.
    let broke = run(&warden(), &as_strs(&vault_args("create", &vault_file)));
    assert!(!broke.status.success());
    let error = text(&broke.stderr);
    assert!(
        error.contains("funding.base") && error.contains("nothing was sent"),
        "{error}"
    );
    assert_eq!(chain.get_transaction_count(owner).await.unwrap(), 0);
    assert!(!Path::new(&vault_file).exists());
    existing::faucet(
        &public.rpc_url.parse().unwrap(),
        &market,
        owner,
        warden_deployer::market::whole(101),
        warden_deployer::market::whole(300_000),
    )
    .await
    .unwrap();
    let created = succeeded(&warden(), &as_strs(&vault_args("create", &vault_file)));
    assert!(created.contains("vault 0x"), "{created}");
    let record: warden_deployer::vault::VaultRecord =
        serde_json::from_str(&std::fs::read_to_string(&vault_file).unwrap()).unwrap();
    assert_eq!(record.owner, owner);
    let vault_status = succeeded(&warden(), &as_strs(&vault_args("status", &vault_file)));
    println!("{vault_status}");
    for line in [
        "paused:               no",
        "balance:              99000000000000000000 WETH",
        "balance:              300000000000000000000000",
        "latest task:          none yet",
        "next task:            a task can open now",
        "service balance:      1000000000000000000 wei",
        "task fee balance:     1000000000000000000",
    ] {
        assert!(
            vault_status.contains(line),
            "{line:?} missing from:\n{vault_status}"
        );
    }
    // A second vault with a record already there is refused before anything is sent.
    let nonce = chain.get_transaction_count(owner).await.unwrap();
    let again = run(&warden(), &as_strs(&vault_args("create", &vault_file)));
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("never replaced"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(chain.get_transaction_count(owner).await.unwrap(), nonce);

    // The operator leaves: deregistered, and its allocation deallocating (slashable until
    // EigenLayer's deallocation delay has passed). A second run finds it done.
    let exit = as_operator("exit");
    let left = succeeded(&operator_binary, &exit);
    for line in [
        "sent:  AllocationManager.deregisterFromOperatorSets",
        "sent:  AllocationManager.modifyAllocations",
        "deallocation takes effect at block",
    ] {
        assert!(left.contains(line), "{line:?} missing from:\n{left}");
    }
    status(&[
        "registered:           no",
        "pending change:      -1000000000000000000 at block",
    ]);
    let nonce = chain.get_transaction_count(operator.address).await.unwrap();
    let again = succeeded(&operator_binary, &exit);
    assert!(
        again.contains("found: not in Warden's operator set") && !again.contains("sent:"),
        "{again}"
    );
    assert_eq!(
        chain.get_transaction_count(operator.address).await.unwrap(),
        nonce
    );
}

/// `warden devnet --existing-eigenlayer`, run as a user runs it: Warden joins a chain whose
/// EigenLayer it did not deploy, and its tasks execute. The two deployers differ, and neither
/// is an operator, a staker, the vault owner or a service's key. The chain keeps only the latest
/// 128 states, as a full node that is not an archive node does: nothing Warden runs reads older
/// state.
#[test]
fn warden_devnet_on_an_existing_eigenlayer_executes_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("summary.json");
    let data_dir = dir.path().join("data");
    succeeded(
        &warden(),
        &[
            "devnet",
            "--existing-eigenlayer",
            "--operators",
            "4",
            "--ticks",
            "2",
            "--prune-history",
            "128",
            "--json",
            json.to_str().unwrap(),
            "--data-dir",
            data_dir.to_str().unwrap(),
        ],
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let address = |value: &serde_json::Value| -> Address {
        value
            .as_str()
            .unwrap_or_else(|| panic!("not an address: {value}"))
            .parse()
            .unwrap()
    };
    let eigenlayer_deployer = address(&summary["eigenlayer"]["deployer"]);
    let warden_deployer = address(&summary["warden"]["deployer"]);
    assert_ne!(eigenlayer_deployer, warden_deployer);
    let mut others: Vec<Address> = summary["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|operator| address(&operator["address"]))
        .collect();
    assert_eq!(others.len(), 4);
    others.push(address(&summary["app"]["vault_owner"]));
    for account in [1, 3, 4, 5] {
        // The noise trader and the services' keys.
        others.push(
            warden_deployer::accounts::dev_key(account)
                .unwrap()
                .address(),
        );
    }
    for deployer in [eigenlayer_deployer, warden_deployer] {
        assert!(!others.contains(&deployer), "{deployer} has another role");
    }
    let tasks = summary["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2, "{summary:#}");
    for task in tasks {
        assert_eq!(task["state"], "executed", "{task:#}");
    }
    // What the users' commands leave behind.
    let deployment = DeploymentFile::read(&data_dir.join("deployment.json")).unwrap();
    assert_eq!(deployment.deployer, warden_deployer);
    assert_eq!(
        address(&summary["warden"]["registry"]),
        deployment.warden.registry
    );
    warden_deployer::vault::VaultPolicy::from_file(&data_dir.join("vault-policy.toml")).unwrap();
}

/// The guides' last step, run as processes: the aggregator, an operator and a watchtower, each
/// configured from its documented sample with `[chain] deployment` naming the deployment file
/// instead of a task manager, on a chain that keeps only the latest 128 states. A task opens, is
/// signed, committed and executed.
#[tokio::test]
async fn services_configured_from_the_deployment_file_execute_a_task() {
    use std::time::Duration;
    use warden_testkit::{ServiceProcess, free_port, wait_until};

    let anvil = warden_testkit::anvil::anvil()
        .args(["--prune-history", "128"])
        .try_spawn()
        .unwrap();
    let rpc_url = anvil.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let deployment = warden_deployer::existing::deploy_warden(
        anvil.endpoint_url(),
        &dir.path().join("chain"),
        &DeployConfig::new(1),
    )
    .await
    .unwrap();
    let deployment_file = path("chain/deployment.json");
    let summary = deployment.summary().clone();
    let chain = alloy::providers::ProviderBuilder::new().connect_http(rpc_url.parse().unwrap());

    // The aggregator's and the watchtower's keys: fresh keystores, funded by transfers.
    std::fs::write(path("password"), "service password\n").unwrap();
    for name in ["aggregator", "challenger"] {
        let created = succeeded(
            &warden(),
            &[
                "keys",
                "new-account",
                &path(&format!("{name}.json")),
                "--password-file",
                &path("password"),
            ],
        );
        common::transfer(
            &rpc_url,
            address_line(&created, "address:"),
            U256::from(10u128.pow(19)),
        )
        .await;
    }

    let aggregator_port = free_port().unwrap();
    let operator = &deployment.operators()[0];
    let configure =
        |sample: &str, name: &str, keys: &[(&str, String)], own: &dyn Fn(&mut toml::Table)| {
            let text = std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../config/{sample}.toml")),
            )
            .unwrap();
            let mut config: toml::Table = toml::from_str(&text).unwrap();
            let chain = config["chain"].as_table_mut().unwrap();
            chain.insert("rpc_url".into(), rpc_url.clone().into());
            chain.remove("task_manager");
            chain.insert("deployment".into(), deployment_file.clone().into());
            chain.insert("poll_interval_ms".into(), 100.into());
            config.insert(
                "database".into(),
                toml::Table::from_iter([("url".to_owned(), path(&format!("{name}.db")).into())])
                    .into(),
            );
            let ops = config["ops"].as_table_mut().unwrap();
            for key in ["metrics_listen", "node_api_listen"] {
                ops.insert(
                    key.into(),
                    format!("127.0.0.1:{}", free_port().unwrap()).into(),
                );
            }
            config.insert(
                "keys".into(),
                toml::Table::from_iter(
                    keys.iter()
                        .map(|(k, v)| ((*k).to_owned(), v.clone().into())),
                )
                .into(),
            );
            own(&mut config);
            let file = path(&format!("{name}.toml"));
            std::fs::write(&file, toml::to_string(&config).unwrap()).unwrap();
            file
        };
    let router = summary.market.router.to_string();
    let aggregator_config = configure(
        "aggregator",
        "aggregator",
        &[
            ("ecdsa_keystore", path("aggregator.json")),
            ("password_file", path("password")),
        ],
        &|config| {
            let section = config["aggregator"].as_table_mut().unwrap();
            section.insert(
                "listen".into(),
                format!("127.0.0.1:{aggregator_port}").into(),
            );
            section.insert(
                "keeper_agents".into(),
                toml::Value::Array(vec![i64::try_from(summary.app.agent_id).unwrap().into()]),
            );
        },
    );
    let operator_dir = operator.keystores.bls.parent().unwrap();
    let operator_config = configure(
        "operator",
        "operator",
        &[
            (
                "ecdsa_keystore",
                operator.keystores.ecdsa.to_str().unwrap().to_owned(),
            ),
            (
                "bls_keystore",
                operator.keystores.bls.to_str().unwrap().to_owned(),
            ),
            (
                "password_file",
                operator.password_file.to_str().unwrap().to_owned(),
            ),
        ],
        &|config| {
            config["operator"].as_table_mut().unwrap().insert(
                "aggregator_url".into(),
                format!("http://127.0.0.1:{aggregator_port}").into(),
            );
            config["agent"]
                .as_table_mut()
                .unwrap()
                .insert("router".into(), router.clone().into());
        },
    );
    assert!(operator_dir.join("ecdsa.json").is_file());
    let challenger_config = configure(
        "challenger",
        "challenger",
        &[
            ("ecdsa_keystore", path("challenger.json")),
            ("password_file", path("password")),
        ],
        &|config| {
            config["challenger"]
                .as_table_mut()
                .unwrap()
                .remove("block_time_ms");
            config["agent"]
                .as_table_mut()
                .unwrap()
                .insert("router".into(), router.clone().into());
        },
    );

    let binary = |name: &str| warden_testkit::workspace_binary(name).unwrap();
    let mut services = Vec::new();
    for (name, config) in [
        ("warden-aggregator", &aggregator_config),
        ("warden-operator", &operator_config),
        ("warden-challenger", &challenger_config),
    ] {
        // Each echoes its log lines, named, into the test's output.
        services.push(
            ServiceProcess::spawn(
                name,
                &binary(name),
                &["run", "--config", config],
                &[("RUST_LOG", "info")],
            )
            .unwrap(),
        );
    }

    // The chain's clock: a block every few checks, until the first task has executed.
    let task_manager = warden_bindings::WardenTaskManager::new(summary.app.task_manager, &chain);
    let mut checks = 0u32;
    wait_until("task 1 executed", Duration::from_secs(180), || {
        checks += 1;
        let (chain, task_manager) = (&chain, &task_manager);
        let mine = checks.is_multiple_of(4);
        async move {
            if mine {
                use alloy::providers::ext::AnvilApi;
                chain.anvil_mine(Some(1), None).await.unwrap();
            }
            let task = task_manager.getTask(1).call().await.unwrap();
            task.state as u8 == 3
        }
    })
    .await
    .unwrap();
    drop(services);
}
