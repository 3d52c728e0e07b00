-- Warden's durable state, one schema for every role; each service uses only its own tables.
-- Portable between SQLite and PostgreSQL: hashes, keys and byte strings are 0x-prefixed hex
-- TEXT, times are Unix milliseconds in BIGINT, amounts in wei are decimal TEXT.

-- Operator: slashing protection. A row is written before a signature leaves the process and is
-- never rewritten, so a restarted node re-sends what it signed instead of signing again. Keyed
-- by everything the signed digest binds except the output: a task a reorg replaced (same id,
-- other input or reference block) is a different attestation and may be signed anew.
CREATE TABLE operator_signatures (
    operator_id     TEXT    NOT NULL,
    task_id         BIGINT  NOT NULL,
    input_hash      TEXT    NOT NULL,
    reference_block BIGINT  NOT NULL,
    agent_id        BIGINT  NOT NULL,
    output_hash     TEXT    NOT NULL,
    output          TEXT    NOT NULL,
    signature       TEXT    NOT NULL,
    signed_at_ms    BIGINT  NOT NULL,
    delivered_at_ms BIGINT,
    PRIMARY KEY (operator_id, task_id, input_hash, reference_block)
);

-- Operator and challenger: how far each follower has processed the chain, with the hash of
-- every block it stopped at, so that a restart resumes there and a reorg is noticed and undone
-- back to the last block both chains share.
CREATE TABLE chain_cursor (
    follower     TEXT   NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash   TEXT   NOT NULL,
    PRIMARY KEY (follower, block_number)
);

-- Every role: the transactions a key sent, one row per nonce. Written with the signed bytes
-- before the first broadcast, so a restart re-broadcasts or waits for them rather than sending
-- a second transaction with the same intent or reusing the nonce.
CREATE TABLE transactions (
    chain_id                 BIGINT NOT NULL,
    sender                   TEXT   NOT NULL,
    nonce                    BIGINT NOT NULL,
    intent                   TEXT   NOT NULL,
    to_address               TEXT   NOT NULL,
    input                    TEXT   NOT NULL,
    value                    TEXT   NOT NULL,
    gas_limit                BIGINT NOT NULL,
    max_fee_per_gas          TEXT   NOT NULL,
    max_priority_fee_per_gas TEXT   NOT NULL,
    tx_hash                  TEXT   NOT NULL,
    raw                      TEXT   NOT NULL,
    status                   TEXT   NOT NULL,
    bumps                    BIGINT NOT NULL,
    block_number             BIGINT,
    gas_used                 BIGINT,
    first_sent_ms            BIGINT NOT NULL,
    last_sent_ms             BIGINT NOT NULL,
    PRIMARY KEY (chain_id, sender, nonce)
);
CREATE UNIQUE INDEX transactions_intent ON transactions (chain_id, sender, intent);

-- Every version (fee bump) of a transaction: an earlier one can still be the one that is mined.
CREATE TABLE transaction_versions (
    chain_id BIGINT NOT NULL,
    sender   TEXT   NOT NULL,
    nonce    BIGINT NOT NULL,
    tx_hash  TEXT   NOT NULL,
    sent_ms  BIGINT NOT NULL,
    PRIMARY KEY (chain_id, sender, nonce, tx_hash)
);

-- Aggregator: the tasks it collects signatures for and how far each got.
CREATE TABLE aggregator_tasks (
    task_id         BIGINT PRIMARY KEY,
    agent_id        BIGINT NOT NULL,
    input_hash      TEXT   NOT NULL,
    reference_block BIGINT NOT NULL,
    state           TEXT   NOT NULL,
    output_hash     TEXT,
    updated_at_ms   BIGINT NOT NULL
);

-- Aggregator: every operator signature it accepted, so a restart has the quorum it had.
CREATE TABLE aggregator_signatures (
    task_id        BIGINT  NOT NULL,
    operator_id    TEXT    NOT NULL,
    output_hash    TEXT    NOT NULL,
    output         TEXT    NOT NULL,
    signature      TEXT    NOT NULL,
    received_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (task_id, operator_id)
);

-- Aggregator: each commitOutput it decided to send, with the quorum it carries and the
-- transaction intent that sends it; the intent makes a resend after a crash impossible.
CREATE TABLE aggregator_submissions (
    task_id             BIGINT  NOT NULL,
    attempt             BIGINT  NOT NULL,
    output_hash         TEXT    NOT NULL,
    non_signers         TEXT    NOT NULL,
    aggregate_signature TEXT    NOT NULL,
    signed_weight       TEXT    NOT NULL,
    intent              TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    created_at_ms       BIGINT  NOT NULL,
    PRIMARY KEY (task_id, attempt)
);

-- Challenger: every wrong commitment it found, what it did about it and how the slashing of
-- the signers is progressing.
CREATE TABLE challenger_claims (
    task_id               BIGINT PRIMARY KEY,
    committed_output_hash TEXT   NOT NULL,
    expected_output_hash  TEXT   NOT NULL,
    deadline              BIGINT NOT NULL,
    state                 TEXT   NOT NULL,
    detail                TEXT   NOT NULL,
    updated_at_ms         BIGINT NOT NULL
);
