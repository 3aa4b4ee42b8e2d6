-- After a crash (issue 18, part 5).
--
-- A job failing for a transient reason (the disk full, the database away) is retried for
-- as long as [jobs] patience_hours, not max_attempts times: failing_since is when the
-- current run of such failures began (gateway/jobs.c, store_jobs_fail).
ALTER TABLE jobs ADD COLUMN failing_since timestamptz;

-- A sweep cuts each pack no process holds back to its last indexed blob
-- (storage/store_sweep.c): where that ends is found in an index, not by reading the
-- whole table once per pack.
CREATE INDEX blobs_pack_end ON blobs (pack, (pack_offset + pack_length)) WHERE pack IS NOT NULL;
