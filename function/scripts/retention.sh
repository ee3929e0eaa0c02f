#!/bin/bash
# function-tau: retention of the encrypted dumps of one database.
#
# In <DUMP_ROOT>/<DUMP_NAMESPACE>/<DUMP_CLUSTER>/ (that folder only, not below
# it), deletes the dumps of database PGDATABASE whose modification time is more
# than RETENTION_DAYS days ago, except the newest non-empty one, which is kept
# whatever its age (a cluster whose dumps have been failing for weeks still has
# its last good backup).
#
# Only files this project writes are ever touched: regular files (not links)
# named exactly <db>-<YYYYmmddTHHMMSSZ>.dump.gz.gpg, and the hidden temporaries
# of interrupted dumps (.<that name>.XXXXXX) once they are more than
# max(1, RETENTION_DAYS) days old. Another database's files, another cluster's
# folder and anything else in the folder are left alone.
#
# Environment: DUMP_ROOT (default /backups), DUMP_NAMESPACE, DUMP_CLUSTER,
# PGDATABASE, RETENTION_DAYS (a whole number of days, at least 1).
# Exit codes: 0 done (also when the folder does not exist yet); 2 bad
# configuration; 1 a file could not be deleted.
set -u -o pipefail
export LC_ALL=C

log() { printf 'tau-retention: %s\n' "$*" >&2; }
die() { code=$1; shift; log "error: $*"; exit "$code"; }

root=${DUMP_ROOT:-/backups}
namespace=${DUMP_NAMESPACE:-}
cluster=${DUMP_CLUSTER:-}
db=${PGDATABASE:-}
days=${RETENTION_DAYS:-}

[[ $namespace =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die 2 "DUMP_NAMESPACE '${namespace}' is not a Kubernetes namespace name"
[[ $cluster =~ ^[a-z]([-a-z0-9]*[a-z0-9])?$ ]] || die 2 "DUMP_CLUSTER '${cluster}' is not a CNPG cluster name"
[[ $db =~ ^[a-z_][a-z0-9_]*$ ]] || die 2 "PGDATABASE '${db}' is not a database name this project creates ([a-z_][a-z0-9_]*)"
[[ $days =~ ^[1-9][0-9]{0,4}$ ]] || die 2 "RETENTION_DAYS '${days}' is not a whole number of days between 1 and 99999"
[[ -d $root ]] || die 2 "the backup root ${root} (DUMP_ROOT) is not a directory: is the volume mounted?"

dir="$root/$namespace/$cluster"
if [[ ! -d $dir ]]; then
  log "nothing to do: ${dir} does not exist"
  exit 0
fi

now=$(date +%s)
cutoff=$((now - days * 86400))
stale_days=$((days > 1 ? days : 1))
stale_cutoff=$((now - stale_days * 86400))
dump_re="^${db}-[0-9]{8}T[0-9]{6}Z\\.dump\\.gz\\.gpg\$"
partial_re="^\\.${db}-[0-9]{8}T[0-9]{6}Z\\.dump\\.gz\\.gpg\\.[A-Za-z0-9]{6}\$"

# Every candidate as "<mtime seconds> <size> <name>"; the patterns admit no
# whitespace, so the fields split safely.
dumps=()
partials=()
while IFS=' ' read -r mtime size name; do
  if [[ $name =~ $dump_re ]]; then
    dumps+=("${mtime%.*} $size $name")
  elif [[ $name =~ $partial_re ]]; then
    partials+=("${mtime%.*} $size $name")
  fi
done < <(find "$dir" -mindepth 1 -maxdepth 1 -type f \( -name "${db}-*" -o -name ".${db}-*" \) -printf '%T@ %s %f\n')

# The newest non-empty dump (ties broken by the name, whose timestamp sorts).
newest=""
newest_key=""
for entry in "${dumps[@]}"; do
  read -r mtime size name <<<"$entry"
  ((size > 0)) || continue
  entry_key=$(printf '%012d %s' "$mtime" "$name")
  if [[ -z $newest_key || $entry_key > $newest_key ]]; then
    newest_key=$entry_key
    newest=$name
  fi
done

failed=0
deleted=0
kept=0
for entry in "${dumps[@]}"; do
  read -r mtime size name <<<"$entry"
  if [[ $name != "$newest" ]] && ((mtime < cutoff)); then
    if rm -f -- "$dir/$name"; then
      log "deleted ${name} (older than ${days} days)"
      deleted=$((deleted + 1))
    else
      log "error: cannot delete ${dir}/${name}"
      failed=1
    fi
  else
    kept=$((kept + 1))
  fi
done
for entry in "${partials[@]}"; do
  read -r mtime size name <<<"$entry"
  if ((mtime < stale_cutoff)); then
    if rm -f -- "$dir/$name"; then
      log "deleted ${name} (an interrupted dump, older than ${stale_days} days)"
    else
      log "error: cannot delete ${dir}/${name}"
      failed=1
    fi
  fi
done
log "${dir}: ${deleted} deleted, ${kept} kept${newest:+, newest ${newest}}"
exit "$failed"
