-- Aggregator: the activation trace of each signature (issue 14). A large agent's signers sign
-- the hash of the trace with the output, and the trace goes into `commitOutput`'s calldata, so a
-- restarted aggregator needs it to commit a quorum it reached before the crash. Stored as the hex
-- of the chunk hashes' concatenation; '0x' for an agent that keeps no trace (every earlier row).
ALTER TABLE aggregator_signatures ADD COLUMN trace TEXT NOT NULL DEFAULT '0x';

-- The trace hash a submission commits, with its output hash: together they name what its
-- signers signed. Zero (no trace) for every earlier row.
ALTER TABLE aggregator_submissions ADD COLUMN trace_hash TEXT NOT NULL
    DEFAULT '0x0000000000000000000000000000000000000000000000000000000000000000';

-- Equivocation evidence names each signature's trace hash: one output with two traces is
-- equivocation too (`slashEquivocation` takes it).
ALTER TABLE aggregator_equivocations ADD COLUMN first_trace_hash TEXT NOT NULL
    DEFAULT '0x0000000000000000000000000000000000000000000000000000000000000000';
ALTER TABLE aggregator_equivocations ADD COLUMN second_trace_hash TEXT NOT NULL
    DEFAULT '0x0000000000000000000000000000000000000000000000000000000000000000';
