-- Operator slashing protection keyed by the signing root: the hash of everything the signed
-- digest binds except the output (chain id, task manager, task id, agent id, agent hash, input
-- hash, reference block), as Lighthouse keys its records. The first schema's key left out the
-- chain id, the task manager and the agent hash.
--
-- A row is written before a signature leaves the process and never rewritten, so a restarted
-- node re-sends what it signed instead of signing again; a task a reorg replaced has another
-- signing root and may be signed anew. The attestation's fields are kept beside the root so the
-- record can be exported (and the root checked against them when read).
CREATE TABLE operator_attestations (
    operator_id     TEXT    NOT NULL,
    signing_root    TEXT    NOT NULL,
    chain_id        BIGINT  NOT NULL,
    task_manager    TEXT    NOT NULL,
    task_id         BIGINT  NOT NULL,
    agent_id        BIGINT  NOT NULL,
    agent_hash      TEXT    NOT NULL,
    input_hash      TEXT    NOT NULL,
    reference_block BIGINT  NOT NULL,
    output_hash     TEXT    NOT NULL,
    output          TEXT    NOT NULL,
    signature       TEXT    NOT NULL,
    signed_at_ms    BIGINT  NOT NULL,
    delivered_at_ms BIGINT,
    PRIMARY KEY (operator_id, signing_root)
);
CREATE INDEX operator_attestations_task ON operator_attestations (operator_id, task_id);

-- The first schema's rows cannot be re-keyed here (the signing root is a keccak256 of fields
-- it did not store). They are kept, renamed, and the operator adopts each one at start-up,
-- before it follows the chain, when its own signature proves the row was made for the
-- operator's chain, task manager and the agent's hash. A row that proves to be for another
-- attestation stays here: it cannot conflict with anything the node signs.
ALTER TABLE operator_signatures RENAME TO operator_signatures_legacy;
