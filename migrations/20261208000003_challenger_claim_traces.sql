-- Challenger: the activation trace a wrong commitment of a large agent committed (issue 14). Only
-- the `commitOutput` call's calldata holds it (the event carries just its hash), and a challenge of
-- such a commitment sends it whole. Written with the claim, before anything is sent, so a restarted
-- watchtower recomputes the step it proves from the database rather than from a transaction its
-- node may no longer serve. The chunk hashes concatenated, as 0x-prefixed hex like every byte
-- string here: '0x' for a claim judged by its output alone (every earlier row).
ALTER TABLE challenger_claims ADD COLUMN trace TEXT NOT NULL DEFAULT '0x';
