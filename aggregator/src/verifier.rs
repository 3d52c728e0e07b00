//! The signature verifier. Every submission's signature is checked on its own before the intake
//! records it, so an unauthenticated request can never conflict with, replace or outvote an
//! operator's genuine signature: it is refused before it touches anything.
//!
//! Checking each signature alone would cost two pairings per submission. Checks waiting at the
//! same moment are therefore verified together, grouped by the digest they sign, with randomly
//! weighted batches ([`warden_bls::verify_same_message`]): two pairings per batch whatever its
//! size, and the weights make the verdict hold for each signature, not only for their sum. A
//! batch that fails is bisected to find its bad signatures. Batches form by themselves under
//! load: while the workers (one per core) are busy, checks queue, and the next batch takes all of
//! them. Signatures arrive unchecked for subgroup membership; each batch checks its weighted sum
//! instead (SECURITY.md §10).

use std::collections::HashMap;
use std::sync::Arc;

use alloy::primitives::B256;
use tokio::sync::{Semaphore, mpsc, oneshot};
use warden_bls::{PublicKey, UncheckedSignature};

/// Checks waiting beyond this many make submitters wait (backpressure on the HTTP intake).
const QUEUE_CAPACITY: usize = 4_096;

/// One signature to check: `signature` must be `public_key`'s signature on `message`.
#[derive(Debug, Clone, Copy)]
pub struct SignatureCheck {
    pub message: B256,
    pub public_key: PublicKey,
    pub signature: UncheckedSignature,
}

impl SignatureCheck {
    /// Checks this signature alone (a subgroup check and two pairings).
    pub fn holds(&self) -> bool {
        let alone = [(&self.signature, &self.public_key)];
        warden_bls::verify_same_message(self.message.as_slice(), &alone, rand::rngs::OsRng).is_ok()
    }
}

/// The verifier is gone: the service is shutting down.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the signature verifier has stopped")]
pub struct VerifierStopped;

struct Job {
    check: SignatureCheck,
    verdict: oneshot::Sender<bool>,
}

/// A handle to the verifier's workers; cheap to clone.
#[derive(Debug, Clone)]
pub struct Verifier {
    jobs: mpsc::Sender<Job>,
}

impl Verifier {
    /// Starts the verifier with one worker per core, each batch holding at most `max_batch`
    /// checks. Runs until every handle is dropped.
    pub fn start(max_batch: usize) -> Self {
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let (jobs, queue) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(dispatch(queue, workers, max_batch.max(1)));
        Self { jobs }
    }

    /// Whether the signature holds.
    pub async fn verify(&self, check: SignatureCheck) -> Result<bool, VerifierStopped> {
        let (verdict, answer) = oneshot::channel();
        self.jobs
            .send(Job { check, verdict })
            .await
            .map_err(|_| VerifierStopped)?;
        answer.await.map_err(|_| VerifierStopped)
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("check", &self.check).finish()
    }
}

/// Hands batches to the workers: a worker is claimed first, then everything queued by then
/// becomes its batch.
async fn dispatch(mut queue: mpsc::Receiver<Job>, workers: usize, max_batch: usize) {
    let workers = Arc::new(Semaphore::new(workers));
    loop {
        let Ok(worker) = Arc::clone(&workers).acquire_owned().await else {
            return;
        };
        let Some(first) = queue.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        tokio::task::spawn_blocking(move || {
            let verdicts = check_batch(batch.iter().map(|job| &job.check));
            for (job, holds) in batch.into_iter().zip(verdicts) {
                // A submitter that went away no longer needs its verdict.
                let _ = job.verdict.send(holds);
            }
            drop(worker);
        });
    }
}

/// The verdict on each check, in order: checks of one digest are batched together.
pub fn check_batch<'a>(checks: impl Iterator<Item = &'a SignatureCheck>) -> Vec<bool> {
    let checks: Vec<&SignatureCheck> = checks.collect();
    let mut by_message: HashMap<B256, Vec<usize>> = HashMap::new();
    for (index, check) in checks.iter().enumerate() {
        by_message.entry(check.message).or_default().push(index);
    }
    let mut verdicts = vec![true; checks.len()];
    // The thread's CSPRNG, seeded by the operating system: a system call for each of the batch's
    // weights (OsRng) would cost more than the arithmetic they weight.
    let mut rng = rand::thread_rng();
    for (message, indices) in by_message {
        let signers: Vec<warden_bls::Signer<'_>> = indices
            .iter()
            .map(|&index| (&checks[index].signature, &checks[index].public_key))
            .collect();
        for bad in warden_bls::find_invalid_signers(message.as_slice(), &signers, &mut rng) {
            verdicts[indices[bad]] = false;
        }
    }
    verdicts
}

#[cfg(test)]
mod tests {
    use warden_bls::SecretKey;

    use super::*;

    fn check(key: &SecretKey, message: B256, signer: &SecretKey) -> SignatureCheck {
        SignatureCheck {
            message,
            public_key: key.public_key(),
            signature: signer.sign(message.as_slice()).into(),
        }
    }

    #[test]
    fn a_batch_of_two_digests_gets_one_verdict_per_check() {
        let mut rng = rand::thread_rng();
        let keys: Vec<SecretKey> = (0..6).map(|_| SecretKey::random(&mut rng)).collect();
        let (a, b) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let checks = [
            check(&keys[0], a, &keys[0]),
            check(&keys[1], b, &keys[1]),
            // Operator 2's key, operator 3's signature.
            check(&keys[2], a, &keys[3]),
            check(&keys[4], b, &keys[4]),
            check(&keys[5], a, &keys[5]),
        ];
        assert_eq!(
            check_batch(checks.iter()),
            vec![true, true, false, true, true]
        );
        assert!(checks[0].holds());
        assert!(!checks[2].holds());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_checks_each_get_their_own_verdict() {
        let verifier = Verifier::start(64);
        let mut rng = rand::thread_rng();
        let message = B256::repeat_byte(7);
        let keys: Vec<SecretKey> = (0..24).map(|_| SecretKey::random(&mut rng)).collect();
        let mut pending = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            // Every third check carries the next operator's signature.
            let signer = if index % 3 == 2 {
                &keys[(index + 1) % keys.len()]
            } else {
                key
            };
            let verifier = verifier.clone();
            let job = check(key, message, signer);
            pending.push(tokio::spawn(async move { verifier.verify(job).await }));
        }
        for (index, job) in pending.into_iter().enumerate() {
            let holds = job.await.unwrap().unwrap();
            assert_eq!(holds, index % 3 != 2, "check {index}");
        }
    }
}
