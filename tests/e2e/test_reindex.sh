# The job workers of caseport serve: `caseport jobs --reindex` queues a reindex job for
# every instance whose indexed text holds U+FFFD (as an index written before character
# sets were decoded does); the running server's worker rewrites the names from the stored
# data sets; a job whose blob is gone fails, and with no attempts left is dead with its
# reason, listed by `caseport jobs --state dead`.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
e2e_start
cs=/usr/lib/python3/dist-packages/pydicom/data/charset_files
for f in chrGerm chrRuss chrH31; do
  storescu -aet E2E -aec CASEPORT 127.0.0.1 "$port" "$cs/$f.dcm" >/dev/null 2>&1 || die "storing $f failed"
done
want=$(sql "SELECT string_agg(name, '|' ORDER BY id) FROM patients")
# what an index written before decoding looked like: the non-ASCII bytes as U+FFFD
sql "UPDATE patients SET name = regexp_replace(name, '[^[:ascii:]]', U&'\\FFFD', 'g')"
sql "SELECT name FROM patients" | grep -q $'\xef\xbf\xbd' || die "could not garble the index"
out=$(cp_cli jobs --reindex) || die "jobs --reindex failed"
[ "$out" = "queued 3 reindex job(s)" ] || die "jobs --reindex: $out"
for _ in $(seq 1 100); do
  [ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'reindex' AND state = 'done'")" = 3 ] && break
  sleep 0.1
done
[ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'reindex' AND state = 'done'")" = 3 ] ||
  die "reindex jobs not done: $(cp_cli jobs)"
got=$(sql "SELECT string_agg(name, '|' ORDER BY id) FROM patients")
[ "$got" = "$want" ] || die "after reindex: '$got', want '$want'"
[ "$(cp_cli jobs --reindex)" = "queued 0 reindex job(s)" ] || die "a clean index was queued again"
log "3 garbled names rewritten from the stored data sets by the serve's job worker"

# A job whose blob is gone: failed, and with max_attempts 1, dead with the reason.
addr=$(sql "SELECT encode(blob_address, 'hex') FROM instances ORDER BY id LIMIT 1")
pack=$(sql "SELECT pack FROM blobs WHERE address = decode('$addr', 'hex')")
[ -n "$pack" ] || die "the instance's blob is not in a pack"
rm -f "$work/blobs/packs/$pack.pack"
sql "UPDATE patients SET name = U&'\\FFFD' WHERE id = (SELECT min(id) FROM patients)"
[ "$(cp_cli jobs --reindex)" = "queued 1 reindex job(s)" ] || die "the broken one was not queued"
# (the worker may have claimed it already, or failed it once: either way one attempt is all)
sql "UPDATE jobs SET max_attempts = 1 WHERE kind = 'reindex' AND state IN ('queued', 'running')"
for _ in $(seq 1 200); do
  [ "$(sql "SELECT count(*) FROM jobs WHERE state = 'dead' AND kind = 'reindex'")" = 1 ] && break
  sleep 0.1
done
dead=$(cp_cli jobs --state dead | grep reindex || true)
grep -q 'reindex' <<<"$dead" || die "no dead job listed: $(cp_cli jobs)"
grep -qi 'no such file\|not found\|ENOENT\|missing' <<<"$dead" || die "the dead job does not say why: $dead"
id=$(cut -f1 <<<"$dead")
[ "$(cp_cli jobs --retry "$id")" = "job $id queued again" ] || die "retry failed"
log "a job that cannot succeed is dead with its reason, and can be queued again"
e2e_stop
