-- The signed digest, and so the signing root, now names the agent's verifier: a signature is
-- evidence before exactly one judge (issue 10). Records keyed by the earlier root were made for a
-- task manager whose digest left the verifier out, and a task manager never changes its digest, so
-- they can never conflict with anything the node signs from now on. They are kept, untouched, in
-- `operator_attestations` for audit; the node reads and writes `operator_signing_records`, whose
-- rows carry the verifier beside the other fields the root is computed from.
CREATE TABLE operator_signing_records (
    operator_id     TEXT    NOT NULL,
    signing_root    TEXT    NOT NULL,
    chain_id        BIGINT  NOT NULL,
    task_manager    TEXT    NOT NULL,
    task_id         BIGINT  NOT NULL,
    agent_id        BIGINT  NOT NULL,
    agent_hash      TEXT    NOT NULL,
    verifier        TEXT    NOT NULL,
    input_hash      TEXT    NOT NULL,
    reference_block BIGINT  NOT NULL,
    output_hash     TEXT    NOT NULL,
    output          TEXT    NOT NULL,
    signature       TEXT    NOT NULL,
    signed_at_ms    BIGINT  NOT NULL,
    delivered_at_ms BIGINT,
    PRIMARY KEY (operator_id, signing_root)
);
CREATE INDEX operator_signing_records_task ON operator_signing_records (operator_id, task_id);
