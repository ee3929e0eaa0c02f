#!/bin/bash
# function-tau: restore one encrypted dump (written by dump.sh) into a database.
#
#   gpg --decrypt FILE | gunzip | pg_restore --no-owner --no-privileges --single-transaction
#
# The file is <DUMP_ROOT>/<DUMP_NAMESPACE>/<RESTORE_CLUSTER>/<RESTORE_FILE>, where
# RESTORE_FILE is a file name written by dump.sh or `latest` (the newest dump of
# database RESTORE_SOURCE_DATABASE in that folder, by the UTC timestamp in its
# name).
#
# Safe to run again, and never half-done:
# - it refuses a target database that already holds tables, views, sequences,
#   functions or schemas of its own (extensions alone do not count: CNPG creates
#   the claim's extensions before the restore runs), unless RESTORE_FORCE=true;
# - the whole file is decrypted and decompressed once before anything is
#   written (gpg checks the OpenPGP integrity code, gzip the CRC32 and length),
#   so a wrong key, a truncated or altered file is refused up front;
# - then it streams the file again into one pg_restore transaction, stopping at
#   the first error: a failure leaves the database as it was.
# Objects end up owned by the connecting role (--no-owner), or by RESTORE_OWNER
# when set (pg_restore --role, for a superuser connection); grants of the old
# cluster's roles are not restored (--no-privileges), nor subscriptions (they
# would start replicating from the old server). COMMENT ON EXTENSION entries are
# skipped: only an extension's owner may set them, and CREATE EXTENSION sets them.
# Nothing is stored on local disk but the table of contents.
#
# Environment (passwords and the key's passphrase never on the command line,
# never printed):
#   PGHOST PGPORT PGUSER PGDATABASE   the target database (libpq variables)
#   PGPASSWORD or PGPASSFILE          its password
#   DUMP_ROOT                         the backup root (default /backups)
#   DUMP_NAMESPACE                    the namespace folder
#   RESTORE_CLUSTER                   the cluster folder to restore from (the old cluster's name)
#   RESTORE_FILE                      a dump file name in that folder, or `latest`
#   RESTORE_SOURCE_DATABASE           whose dumps `latest` picks (default PGDATABASE)
#   RESTORE_PRIVATE_KEY_FILE          the OpenPGP private key (a mounted Secret file)
#   RESTORE_PASSPHRASE_FILE           optional: the private key's passphrase
#   RESTORE_OWNER                     optional: the role that owns the restored objects
#   RESTORE_FORCE                     `true` to restore into a database that is not empty
# Exit codes: 0 restored; 2 bad configuration; 3 server unreachable; 4 no such
# dump file; 5 the private key cannot decrypt the file; 6 the file is truncated
# or corrupt; 7 the target database is not empty; 1 pg_restore failed (rolled back).
set -u -o pipefail
umask 077
export LC_ALL=C

log() { printf 'tau-restore: %s\n' "$*" >&2; }
die() { code=$1; shift; log "error: $*"; exit "$code"; }

root=${DUMP_ROOT:-/backups}
namespace=${DUMP_NAMESPACE:-}
cluster=${RESTORE_CLUSTER:-}
file=${RESTORE_FILE:-}
db=${PGDATABASE:-}
source_db=${RESTORE_SOURCE_DATABASE:-$db}
key=${RESTORE_PRIVATE_KEY_FILE:-}
passphrase=${RESTORE_PASSPHRASE_FILE:-}
owner=${RESTORE_OWNER:-}
force=${RESTORE_FORCE:-false}

[[ $namespace =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die 2 "DUMP_NAMESPACE '${namespace}' is not a Kubernetes namespace name"
[[ $cluster =~ ^[a-z]([-a-z0-9]*[a-z0-9])?$ ]] || die 2 "RESTORE_CLUSTER '${cluster}' is not a CNPG cluster name"
[[ $db =~ ^[a-z_][a-z0-9_]*$ ]] || die 2 "PGDATABASE '${db}' is not a database name this project creates ([a-z_][a-z0-9_]*)"
[[ $source_db =~ ^[a-z_][a-z0-9_]*$ ]] || die 2 "RESTORE_SOURCE_DATABASE '${source_db}' is not a database name"
[[ -z $owner || $owner =~ ^[a-z_][a-z0-9_]*$ ]] || die 2 "RESTORE_OWNER '${owner}' is not a role name"
[[ $force == true || $force == false ]] || die 2 "RESTORE_FORCE must be true or false, not '${force}'"
[[ -n $key && -r $key && -s $key ]] || die 2 "RESTORE_PRIVATE_KEY_FILE '${key}' is not a readable, non-empty file"
[[ -z $passphrase || -r $passphrase ]] || die 2 "RESTORE_PASSPHRASE_FILE '${passphrase}' is not readable"
for tool in pg_restore psql gzip gpg; do
  command -v "$tool" >/dev/null 2>&1 || die 2 "${tool} is not installed in this image"
done

dir="$root/$namespace/$cluster"
dump_re='^[a-z_][a-z0-9_]*-[0-9]{8}T[0-9]{6}Z\.dump\.gz\.gpg$'
if [[ $file == latest ]]; then
  [[ -d $dir ]] || die 4 "no dump to restore: ${dir} does not exist"
  latest=""
  while IFS= read -r name; do
    [[ $name =~ ^${source_db}-[0-9]{8}T[0-9]{6}Z\.dump\.gz\.gpg$ ]] || continue
    [[ -s $dir/$name && $name > $latest ]] && latest=$name
  done < <(find "$dir" -mindepth 1 -maxdepth 1 -type f -name "${source_db}-*.dump.gz.gpg" -printf '%f\n')
  [[ -n $latest ]] || die 4 "no dump of database ${source_db} in ${dir}"
  file=$latest
elif ! [[ $file =~ $dump_re ]]; then
  die 2 "RESTORE_FILE '${file}' is neither 'latest' nor a dump file name (<db>-<YYYYmmddTHHMMSSZ>.dump.gz.gpg)"
fi
path="$dir/$file"
[[ -f $path && ! -L $path ]] || die 4 "no such dump file: ${path}"
[[ -s $path ]] || die 6 "${path} is empty"

work=$(mktemp -d "${TMPDIR:-/tmp}/tau-restore.XXXXXX") || die 1 "cannot create a temporary directory"
cleanup() {
  GNUPGHOME="$work/gnupg" gpgconf --kill all >/dev/null 2>&1
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME" || die 1 "cannot create a temporary GnuPG home"

gpg --batch --no-tty --quiet --import -- "$key" 2>"$work/import.err" \
  || die 5 "cannot import the private key from ${key}: $(head -c 300 "$work/import.err" | tr '\n' ' ')"
gpg --batch --no-tty --list-secret-keys --with-colons 2>/dev/null | grep -q '^sec:' \
  || die 5 "${key} holds no OpenPGP private key (a public key cannot decrypt)"
# Loopback: never a pinentry (there is no one to type); a passphrase only from its file.
decrypt=(gpg --batch --no-tty --quiet --pinentry-mode loopback --decrypt)
if [[ -n $passphrase ]]; then
  decrypt+=(--passphrase-file "$passphrase")
fi

if ! psql -X -q -A -t -w -c 'SELECT 1' >/dev/null 2>"$work/psql.err"; then
  die 3 "cannot connect to PostgreSQL at ${PGHOST:-local socket}:${PGPORT:-5432} as ${PGUSER:-?} (database ${db}): $(head -c 500 "$work/psql.err" | tr '\n' ' ')"
fi

# Objects of the database's own (not those of extensions).
objects=$(psql -X -q -A -t -w -v ON_ERROR_STOP=1 2>"$work/psql.err" <<'SQL'
SELECT
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))
+ (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'))
+ (SELECT count(*) FROM pg_namespace n
    WHERE n.nspname NOT IN ('public', 'information_schema') AND n.nspname !~ '^pg_'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
        WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e'))
SQL
) || die 3 "cannot inspect database ${db}: $(head -c 500 "$work/psql.err" | tr '\n' ' ')"
if ((objects > 0)); then
  if [[ $force != true ]]; then
    die 7 "database ${db} is not empty (${objects} tables, views, sequences, functions or schemas): not restoring into it (set RESTORE_FORCE=true to restore on top)"
  fi
  log "database ${db} is not empty (${objects} objects); restoring on top of it as RESTORE_FORCE=true asks"
fi

log "checking ${path}"
start=$(date +%s)
"${decrypt[@]}" --status-fd 3 -- "$path" 3>"$work/status" 2>"$work/gpg.err" | gzip -t 2>"$work/gzip.err"
status=("${PIPESTATUS[@]}")
if ((status[1] != 0 && (status[0] == 0 || status[0] == 141))); then
  die 6 "${file} is truncated or corrupt (gzip: $(head -c 300 "$work/gzip.err" | tr '\n' ' '))"
fi
if ((status[0] != 0)); then
  # Encrypted to keys (ENC_TO) of which we hold none: the wrong key. To one of ours
  # that gpg could not use (no DECRYPTION_KEY): its passphrase, missing or wrong.
  wanted=$(sed -n 's/^\[GNUPG:\] ENC_TO \([0-9A-F]*\).*/\1/p' "$work/status")
  ours=$(gpg --batch --no-tty --list-secret-keys --with-colons 2>/dev/null | awk -F: '$1 == "sec" || $1 == "ssb" {print $5}')
  if [[ -n $wanted ]] && ! grep -q -x -F -f <(printf '%s\n' "$ours") <<<"$wanted"; then
    die 5 "the private key in ${key} cannot decrypt ${file}: it was encrypted to key $(tr '\n' ' ' <<<"$wanted" | sed 's/ $//')"
  fi
  if [[ -n $wanted ]] && ! grep -q '^\[GNUPG:\] DECRYPTION_KEY ' "$work/status"; then
    [[ -n $passphrase ]] && die 5 "the private key in ${key} could not be unlocked with the passphrase in ${passphrase}"
    grep -q '^\[GNUPG:\] NEED_PASSPHRASE ' "$work/status" \
      && die 5 "the private key in ${key} is protected by a passphrase: give it in RESTORE_PASSPHRASE_FILE"
  fi
  die 6 "${file} is truncated or corrupt (decryption failed: $(grep '^gpg:' "$work/gpg.err" | head -n 3 | tr '\n' ' '))"
fi
((status[1] == 0)) || die 6 "${file} is truncated or corrupt (gzip: $(head -c 300 "$work/gzip.err" | tr '\n' ' '))"

# The table of contents, without the entries only an extension's owner may run.
"${decrypt[@]}" -- "$path" 2>/dev/null | gzip -dc 2>/dev/null | pg_restore --list >"$work/toc" 2>"$work/toc.err"
status=("${PIPESTATUS[@]}")
((status[2] == 0)) || die 6 "${file} is not a pg_dump archive: $(head -c 300 "$work/toc.err" | tr '\n' ' ')"
sed -E 's/^([0-9]+; [0-9]+ [0-9]+ COMMENT - EXTENSION )/;\1/' "$work/toc" >"$work/toc.use"

restore=(pg_restore --dbname="$db" --no-password --single-transaction --exit-on-error
  --no-owner --no-privileges --no-subscriptions --no-security-labels --no-tablespaces
  --use-list="$work/toc.use")
if [[ -n $owner && $owner != "${PGUSER:-}" ]]; then
  restore+=(--role="$owner")
fi
log "restoring ${file} into database ${db}"
"${decrypt[@]}" -- "$path" 2>"$work/gpg.err" | gzip -dc 2>"$work/gzip.err" | "${restore[@]}" 2>"$work/restore.err"
status=("${PIPESTATUS[@]}")
if ((status[2] != 0)); then
  cat "$work/restore.err" >&2
  die 1 "pg_restore failed (exit ${status[2]}); the transaction was rolled back, database ${db} is as it was"
fi
((status[0] == 0 && status[1] == 0)) || die 6 "${file} could not be read again while restoring (gpg exit ${status[0]}, gzip exit ${status[1]})"
log "restored ${file} into database ${db} in $(($(date +%s) - start))s"
