#!/usr/bin/env bash
# How long the first API prediction after a gunicorn worker starts takes, against the ones after
# it. Loopback only, bounded: RESTARTS starts of a 1-worker gunicorn, REQUESTS requests each.
# Usage (from the repo root; needs PostgreSQL and Redis like tests/load/api_benchmark.sh):
#   bash tests/load/first_request.sh [TREE]     # TREE: another checkout to measure side by side
set -o errexit -o pipefail -o nounset
cd "$(dirname "$0")/../.."
here=$(pwd)
tree="${1:-$here}"

PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
RESTARTS="${RESTARTS:-5}"
REQUESTS="${REQUESTS:-20}"
PORT="${PORT:-8766}"
db="mlpaygrade_first_$$"
py="$here/.venv/bin/python"

psql "$PG_URL/postgres" -q -c "CREATE DATABASE $db"
gunicorn_pid=""
cleanup() {
  [[ -n $gunicorn_pid ]] && kill "$gunicorn_pid" 2>/dev/null && wait "$gunicorn_pid" 2>/dev/null
  psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
}
trap cleanup EXIT

export DATABASE_URL="$PG_URL/$db"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/13}"
export DEBUG=0 SECURE_SSL_REDIRECT=0 LOG_LEVEL=WARNING RATELIMIT_PREDICT="100000000/m"
export SECRET_KEY="first-$(head -c 32 /dev/urandom | base64 | tr -d '/+=')"
cd "$tree"
$py manage.py migrate --noinput -v 0
$py manage.py ensure_active_model --demo-rows 3000 >/dev/null
$py manage.py create_demo_user --username first --password "first-$(date +%s)-pass" >/dev/null
token=$($py manage.py shell -v 0 -c "
from portal.accounts.models import User
from portal.accounts.services import api_token_create
print(api_token_create(user=User.objects.get(username='first'), name='first')[1])")

url="http://127.0.0.1:$PORT/api/v1/predictions/"
post() {
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -X POST -H "Authorization: Token $token" \
    -H "Content-Type: application/json" -d @"$here/tests/load/profile.json" "$url"
}
firsts=() rests=()
for _ in $(seq "$RESTARTS"); do
  "$here/.venv/bin/gunicorn" portal.wsgi:application --config "$tree/docker/gunicorn.conf.py" \
    --bind "127.0.0.1:$PORT" --workers 1 --access-logfile /dev/null \
    --error-logfile "$here/var/first-request-gunicorn.log" &
  gunicorn_pid=$!
  # Ready = the worker answers /healthz (no model involved); then the first prediction.
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  read -r code seconds < <(post)
  [[ $code == 201 ]] || { echo "first request answered $code" >&2; exit 1; }
  firsts+=("$seconds")
  for _ in $(seq "$REQUESTS"); do read -r code seconds < <(post); rests+=("$seconds"); done
  kill "$gunicorn_pid"; wait "$gunicorn_pid" 2>/dev/null || true; gunicorn_pid=""
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)] * 1000 " ms"}'; }
echo "tree: $tree"
echo "first request after start, median of $RESTARTS starts: $(median "${firsts[@]}")"
echo "later requests, median of $((RESTARTS * REQUESTS)): $(median "${rests[@]}")"
