#!/bin/bash
# function-tau: one encrypted logical dump of one PostgreSQL database.
#
# Writes <DUMP_ROOT>/<DUMP_NAMESPACE>/<DUMP_CLUSTER>/<db>-<YYYYmmddTHHMMSSZ>.dump.gz.gpg
# (UTC), made by
#
#   pg_dump --format=custom --compress=0 | gzip | gpg --encrypt (AES256, to a public key)
#
# Why this format:
# - custom format: pg_restore restores it selectively (one table, one schema, a
#   --list / --use-list of the table of contents) and without superuser powers.
# - --compress=0, then gzip: custom format compresses each table itself, and
#   compressing twice costs CPU for nothing. One gzip stream over the whole
#   archive gives the same deflate ratio, the same algorithm whatever pg_dump
#   major writes it (16+ defaults may change, lz4 and zstd exist), and a file
#   that plain tools check: `gpg -d FILE | gzip -t` proves the whole backup is
#   intact (CRC32 and length) without PostgreSQL.
# - OpenPGP (RFC 4880) with --cipher-algo AES256, to a public key only
#   (--recipient-file): the cluster never holds a key that can decrypt its own
#   backups. The payload is integrity-protected (MDC), so a truncated or altered
#   file is refused on restore. gpg's own compression is off: the data is
#   already gzip-compressed.
#
# Atomic: the file is written under a hidden temporary name in the same folder
# (.<final name>.XXXXXX), flushed, and renamed; a failed or killed run never
# leaves anything under a final name (retention.sh removes stale temporaries).
#
# Environment (passwords never on the command line, never printed):
#   PGHOST PGPORT PGUSER PGDATABASE   the database to dump (libpq variables)
#   PGPASSWORD or PGPASSFILE          its password (libpq reads them itself)
#   DUMP_ROOT                         the backup root, e.g. the NFS mount (default /backups)
#   DUMP_NAMESPACE DUMP_CLUSTER       the folder: Kubernetes namespace and CNPG cluster name
#   DUMP_PUBLIC_KEY_FILE              the OpenPGP PUBLIC key to encrypt to (armored or binary)
# Exit codes: 0 written; 2 bad configuration; 3 server unreachable or too new
# for this pg_dump; 1 the dump failed (nothing was written under a final name).
set -u -o pipefail
umask 077
export LC_ALL=C

log() { printf 'tau-dump: %s\n' "$*" >&2; }
die() { code=$1; shift; log "error: $*"; exit "$code"; }

root=${DUMP_ROOT:-/backups}
namespace=${DUMP_NAMESPACE:-}
cluster=${DUMP_CLUSTER:-}
db=${PGDATABASE:-}
key=${DUMP_PUBLIC_KEY_FILE:-}

# The names become path components: only the shapes Kubernetes, CNPG and this
# project allow (no '/', no '..', nothing a shell or a glob would interpret).
[[ $namespace =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die 2 "DUMP_NAMESPACE '${namespace}' is not a Kubernetes namespace name"
[[ $cluster =~ ^[a-z]([-a-z0-9]*[a-z0-9])?$ ]] || die 2 "DUMP_CLUSTER '${cluster}' is not a CNPG cluster name"
[[ $db =~ ^[a-z_][a-z0-9_]*$ ]] || die 2 "PGDATABASE '${db}' is not a database name this project creates ([a-z_][a-z0-9_]*)"
[[ -d $root ]] || die 2 "the backup root ${root} (DUMP_ROOT) is not a directory: is the volume mounted?"
[[ -n $key && -r $key && -s $key ]] || die 2 "DUMP_PUBLIC_KEY_FILE '${key}' is not a readable, non-empty file"
for tool in pg_dump psql gzip gpg; do
  command -v "$tool" >/dev/null 2>&1 || die 2 "${tool} is not installed in this image"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/tau-dump.XXXXXX") || die 1 "cannot create a temporary directory"
tmp=""
cleanup() {
  [[ -n $tmp ]] && rm -f -- "$tmp"
  GNUPGHOME="$work/gnupg" gpgconf --kill all >/dev/null 2>&1
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME" || die 1 "cannot create a temporary GnuPG home"

# The key: a public key with an encryption-capable key, and never a private key
# (a private key here would defeat the point: whoever reads the cluster could
# decrypt every backup).
packets=$(gpg --batch --no-tty --list-packets -- "$key" 2>/dev/null) || die 2 "${key} is not an OpenPGP key"
if grep -q -E '^:secret (sub)?key packet:' <<<"$packets"; then
  die 2 "${key} holds a PRIVATE key: give the dump job the public key only (gpg --armor --export FINGERPRINT)"
fi
grep -q -E '^:public key packet:' <<<"$packets" || die 2 "${key} holds no OpenPGP public key"

# The server: reachable, and not newer than this pg_dump (pg_dump refuses to
# dump a server of a newer major version, and an older pg_dump cannot be trusted
# to dump it correctly).
if ! server=$(psql -X -q -A -t -w -c 'SHOW server_version_num' 2>"$work/psql.err"); then
  die 3 "cannot connect to PostgreSQL at ${PGHOST:-local socket}:${PGPORT:-5432} as ${PGUSER:-?} (database ${db}): $(head -c 500 "$work/psql.err" | tr '\n' ' ')"
fi
server_major=$((server / 10000))
dump_major=$(pg_dump --version | sed -n 's/^pg_dump (PostgreSQL) \([0-9][0-9]*\).*/\1/p')
[[ -n $dump_major ]] || die 2 "cannot read the version of pg_dump"
if ((dump_major < server_major)); then
  die 3 "pg_dump ${dump_major} cannot dump a PostgreSQL ${server_major} server: use an image with pg_dump ${server_major} or newer"
fi

dir="$root/$namespace/$cluster"
mkdir -p -- "$dir" || die 1 "cannot create ${dir}"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="${db}-${stamp}.dump.gz.gpg"
final="$dir/$name"
[[ -e $final ]] && die 1 "${final} already exists (two dumps in the same second?); not overwriting it"
tmp=$(mktemp -- "$dir/.${name}.XXXXXX") || die 1 "cannot create a temporary file in ${dir}"

log "dumping database ${db} (PostgreSQL ${server_major}, pg_dump ${dump_major}) to ${final}"
start=$(date +%s)
pg_dump --format=custom --compress=0 --no-password --dbname="$db" \
  | gzip -6 -n \
  | gpg --batch --no-tty --quiet --encrypt --recipient-file "$key" \
    --cipher-algo AES256 --compress-algo none --output - 2>"$work/gpg.err" >"$tmp"
status=("${PIPESTATUS[@]}")
# From the end of the pipe: a stage that fails makes those before it fail on SIGPIPE.
((status[2] == 0)) || die 1 "gpg could not encrypt to ${key} or write ${tmp} (exit ${status[2]}: $(head -c 300 "$work/gpg.err" | tr '\n' ' ')); nothing was written"
((status[1] == 0)) || die 1 "gzip failed (exit ${status[1]}); nothing was written"
((status[0] == 0)) || die 1 "pg_dump failed (exit ${status[0]}); nothing was written"
[[ -s $tmp ]] || die 1 "the encrypted dump is empty; nothing was written"

# Durable before visible: flush the file, rename it (atomic within a folder, on
# NFS too), flush the folder.
sync -- "$tmp" || die 1 "cannot flush ${tmp} to the backup volume"
mv -f -- "$tmp" "$final" || die 1 "cannot rename the dump to ${final}"
tmp=""
sync -- "$dir" 2>/dev/null || true
size=$(stat -c %s -- "$final")
log "wrote ${final} (${size} bytes) in $(($(date +%s) - start))s"
