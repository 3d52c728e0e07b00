-- Aggregator: two verified signatures of one operator over different outputs of one task
-- (issue 12). The intake verifies every signature before it records it, so the first is the one
-- that counts and the second is refused; both are kept here as the evidence `slashEquivocation`
-- takes. One row per operator and task: one pair proves it.
CREATE TABLE aggregator_equivocations (
    task_id            BIGINT  NOT NULL,
    operator_id        TEXT    NOT NULL,
    first_output_hash  TEXT    NOT NULL,
    first_signature    TEXT    NOT NULL,
    second_output_hash TEXT    NOT NULL,
    second_signature   TEXT    NOT NULL,
    received_at_ms     BIGINT  NOT NULL,
    PRIMARY KEY (task_id, operator_id)
);
