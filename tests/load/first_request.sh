#!/usr/bin/env bash
# How long the first API prediction after a gunicorn worker starts takes, against the ones after
# it. Loopback only, bounded: RESTARTS starts of a 1-worker gunicorn per tree, REQUESTS requests
# each; with several trees the starts alternate (A B A B …), so they share the machine's mood.
# Usage (from the repo root; needs PostgreSQL and Redis like tests/load/api_benchmark.sh):
#   bash tests/load/first_request.sh [TREE ...]   # TREE: checkouts to compare (default: this one)
# Each tree gets its own database (its own migrations); the same demo-data model size for all.
set -o errexit -o pipefail -o nounset
cd "$(dirname "$0")/../.."
here=$(pwd)
if [[ $# -eq 0 ]]; then set -- "$here"; fi

PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
RESTARTS="${RESTARTS:-8}"
REQUESTS="${REQUESTS:-20}"
PORT="${PORT:-8766}"
py="$here/.venv/bin/python"

gunicorn_pid=""
dbs=()
cleanup() {
  [[ -n $gunicorn_pid ]] && kill "$gunicorn_pid" 2>/dev/null && wait "$gunicorn_pid" 2>/dev/null
  for db in "${dbs[@]}"; do psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; done
}
trap cleanup EXIT

export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/13}"
export DEBUG=0 SECURE_SSL_REDIRECT=0 LOG_LEVEL=WARNING RATELIMIT_PREDICT="100000000/m"
export SECRET_KEY="first-$(head -c 32 /dev/urandom | base64 | tr -d '/+=')"
tokens=()
for index in $(seq $#); do
  tree=${!index}
  db="mlpaygrade_first_$$_$index"
  psql "$PG_URL/postgres" -q -c "CREATE DATABASE $db"
  dbs+=("$db")
  export DATABASE_URL="$PG_URL/$db"
  (cd "$tree" && $py manage.py migrate --noinput -v 0 \
    && $py manage.py ensure_active_model --csv /nonexistent --demo-rows 3000 >/dev/null \
    && $py manage.py create_demo_user --username first --password "first-$(date +%s)-pass" >/dev/null)
  tokens+=("$(cd "$tree" && $py manage.py shell -v 0 -c "
from portal.accounts.models import User
from portal.accounts.services import api_token_create
print(api_token_create(user=User.objects.get(username='first'), name='first')[1])")")
done

url="http://127.0.0.1:$PORT/api/v1/predictions/"
post() {  # TOKEN -> "status seconds"
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -X POST -H "Authorization: Token $1" \
    -H "Content-Type: application/json" -d @"$here/tests/load/profile.json" "$url"
}
declare -A firsts rests
for _ in $(seq "$RESTARTS"); do
  for index in $(seq $#); do
    tree=${!index}
    token=${tokens[$((index - 1))]}
    export DATABASE_URL="$PG_URL/${dbs[$((index - 1))]}"
    (cd "$tree" && exec "$here/.venv/bin/gunicorn" portal.wsgi:application \
      --config "$tree/docker/gunicorn.conf.py" --bind "127.0.0.1:$PORT" --workers 1 \
      --no-control-socket --access-logfile /dev/null \
      --error-logfile "$here/var/first-request-gunicorn.log") &
    gunicorn_pid=$!
    # Ready = the worker answers /healthz (no model involved); then the first prediction.
    for _ in $(seq 200); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
    kill -0 "$gunicorn_pid" || { echo "gunicorn for $tree exited" >&2; exit 1; }
    read -r code seconds < <(post "$token")
    [[ $code == 201 ]] || { echo "first request answered $code" >&2; exit 1; }
    firsts[$index]="${firsts[$index]:-} $seconds"
    for _ in $(seq "$REQUESTS"); do
      read -r code seconds < <(post "$token")
      rests[$index]="${rests[$index]:-} $seconds"
    done
    kill "$gunicorn_pid"; wait "$gunicorn_pid" 2>/dev/null || true; gunicorn_pid=""
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%.1f ms", a[int((NR+1)/2)] * 1000}'; }
for index in $(seq $#); do
  # shellcheck disable=SC2086  # the lists are space-separated numbers
  echo "tree ${!index}: first request after start, median of $RESTARTS starts: $(median ${firsts[$index]});" \
    "later requests, median of $((RESTARTS * REQUESTS)): $(median ${rests[$index]})"
done
