//! `warden-operator register` asks Warden's registry everything it can before sending any
//! EigenLayer transaction: a BLS key already registered by another operator is refused with
//! nothing sent (the operator's nonce and its EigenLayer state are unchanged), and an operator
//! already in the set with its key has nothing left to do and sends nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::ext::AnvilApi;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use warden_bindings::eigenlayer::DelegationManager;
use warden_bls::SecretKey;
use warden_devnet::{Devnet, DevnetConfig};
use warden_keys::OperatorKeys;
use warden_operator::{RegisterOptions, Registrar, RegistrationError, RegistrationTargets};
use warden_protocol::OperatorId;

struct Chain {
    rpc_url: String,
    provider: DynProvider,
    targets: RegistrationTargets,
}

impl Chain {
    fn new(devnet: &Devnet) -> Self {
        Self {
            rpc_url: devnet.deployment().rpc_url(),
            provider: ProviderBuilder::new()
                .connect_http(devnet.deployment().rpc_url().parse().unwrap())
                .erased(),
            targets: devnet.summary().deployment.registration_targets(),
        }
    }

    /// Runs `warden-operator register`'s steps for `keys` (with ether for gas, so that nothing
    /// but the check can stop a transaction) and returns its refusal, after checking that the
    /// operator sent nothing and did not become an EigenLayer operator it was not before.
    async fn refused(
        &self,
        targets: RegistrationTargets,
        keys: &OperatorKeys,
    ) -> RegistrationError {
        let operator = keys.address();
        self.provider
            .anvil_set_balance(operator, U256::from(10u64).pow(U256::from(19u64)))
            .await
            .unwrap();
        let nonce = self.provider.get_transaction_count(operator).await.unwrap();
        let delegation = DelegationManager::new(self.targets.delegation_manager, &self.provider);
        let was_operator = delegation.isOperator(operator).call().await.unwrap();

        let options = RegisterOptions {
            allocation_wait: Duration::from_secs(30),
            ..RegisterOptions::default()
        };
        let error = Registrar::new(&self.rpc_url, targets, keys)
            .unwrap()
            .register(&options)
            .await
            .unwrap_err();

        let sent = self.provider.get_transaction_count(operator).await.unwrap() - nonce;
        assert_eq!(
            sent, 0,
            "{operator} sent a transaction before being refused: {error}"
        );
        assert_eq!(
            delegation.isOperator(operator).call().await.unwrap(),
            was_operator
        );
        error
    }
}

fn with_bls_key(bls: SecretKey) -> OperatorKeys {
    OperatorKeys {
        ecdsa: PrivateKeySigner::random(),
        bls,
    }
}

#[tokio::test]
async fn a_key_already_registered_is_refused_before_any_eigenlayer_transaction() {
    let devnet = Devnet::start(DevnetConfig::new(1)).await.unwrap();
    let chain = Chain::new(&devnet);
    let existing = &devnet.deployment().operators()[0];
    let unlock =
        || OperatorKeys::unlock(&existing.keystores, Some(&existing.password_file)).unwrap();
    let registered = unlock();
    let registered_id = OperatorId::from_public_key(&registered.bls.public_key().to_eip2537());

    // Another operator with a copy of operator 0's BLS key.
    let copycat = with_bls_key(unlock().bls);
    let refused = chain.refused(chain.targets, &copycat).await;
    assert!(
        matches!(
            refused,
            RegistrationError::KeyTakenByAnotherOperator { operator_id, owner }
                if operator_id == registered_id && owner == existing.address
        ),
        "{refused}"
    );

    // Operator 0 itself, already in the set: the check says so, and `register` has nothing to
    // do (it sends nothing).
    let registrar = Registrar::new(&chain.rpc_url, chain.targets, &registered).unwrap();
    let refused = registrar.check().await.unwrap_err();
    assert!(
        matches!(
            refused,
            RegistrationError::AlreadyRegistered { operator_id, .. } if operator_id == registered_id
        ),
        "{refused}"
    );
    let nonce = chain
        .provider
        .get_transaction_count(existing.address)
        .await
        .unwrap();
    let done = registrar
        .register(&RegisterOptions::default())
        .await
        .unwrap();
    assert_eq!(done.operator_id, registered_id);
    assert!(done.sent.is_empty(), "{done:?}");
    assert_eq!(
        chain
            .provider
            .get_transaction_count(existing.address)
            .await
            .unwrap(),
        nonce
    );

    // A newcomer pointed at a registry address that is not the registry.
    let newcomer = with_bls_key(SecretKey::random(rand::thread_rng()));
    let elsewhere = RegistrationTargets {
        registry: devnet.summary().deployment.app.task_manager,
        ..chain.targets
    };
    chain.refused(elsewhere, &newcomer).await;
    // Against the real registry the newcomer passes the check.
    Registrar::new(&chain.rpc_url, chain.targets, &newcomer)
        .unwrap()
        .check()
        .await
        .unwrap();
}
