-- A large agent's signers commit to the run's activation trace as well as its output (issue 14):
-- the signed digest binds the trace's hash, so two traces for one signing root are as slashable
-- as two outputs (`slashEquivocation` takes one output with two traces). The record keeps the
-- trace it signed, to re-send it with the signature and to refuse an import that names another.
--
-- The trace is its chunk hashes concatenated, as 0x-prefixed hex like every byte string here:
-- '0x' is the empty trace of an agent that keeps none, which is what every earlier row signed.
ALTER TABLE operator_signing_records ADD COLUMN trace TEXT NOT NULL DEFAULT '0x';
