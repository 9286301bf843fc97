#!/usr/bin/env bash
# End-to-end benchmark of POST /api/v1/predictions/ on gunicorn + PostgreSQL + Redis, loopback only.
# Bounded: two wrk runs of DURATION seconds each. Usage (from the repo root):
#   bash tests/load/api_benchmark.sh            # needs wrk (apt-get install wrk)
# Environment: PG_URL (server, default postgres://postgres@127.0.0.1:5432), REDIS_URL
# (default redis://127.0.0.1:6379/13), DURATION (default 20), WORKERS (default 3).
set -o errexit -o pipefail -o nounset
cd "$(dirname "$0")/../.."

PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
DURATION="${DURATION:-20}"
WORKERS="${WORKERS:-3}"
PORT="${PORT:-8765}"
db="mlpaygrade_bench_$$"

psql "$PG_URL/postgres" -q -c "CREATE DATABASE $db"
gunicorn_pid=""
cleanup() {
  [[ -n $gunicorn_pid ]] && kill "$gunicorn_pid" 2>/dev/null && wait "$gunicorn_pid" 2>/dev/null
  psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
}
trap cleanup EXIT

export DATABASE_URL="$PG_URL/$db"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/13}"
export DEBUG=0 SECURE_SSL_REDIRECT=0 LOG_LEVEL=WARNING
# Capacity, not policy: the limiter still runs on every request, with a rate it never reaches.
export RATELIMIT_PREDICT="100000000/m"
export SECRET_KEY="bench-$(head -c 32 /dev/urandom | base64 | tr -d '/+=')"
py=.venv/bin/python

$py manage.py migrate --noinput -v 0
$py manage.py ensure_active_model
$py manage.py create_demo_user --username bench --password "bench-$(date +%s)-pass" >/dev/null
API_TOKEN=$($py manage.py shell -v 0 -c "
from portal.accounts.models import User
from portal.accounts.services import api_token_create
print(api_token_create(user=User.objects.get(username='bench'), name='bench')[1])")
export API_TOKEN
echo "token: ${API_TOKEN:0:12}… ($(printf %s "$API_TOKEN" | wc -l) newlines, ${#API_TOKEN} chars)"

.venv/bin/gunicorn portal.wsgi:application --config docker/gunicorn.conf.py \
  --bind "127.0.0.1:$PORT" --workers "$WORKERS" \
  --access-logfile /dev/null --error-logfile var/bench-gunicorn.log &
gunicorn_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

url="http://127.0.0.1:$PORT/api/v1/predictions/"
echo "warm-up"; curl -sS -X POST -H "Authorization: Token $API_TOKEN" -H "Content-Type: application/json" -d @tests/load/profile.json "$url" | head -c 300; echo
wrk -t1 -c2 -d3s -s tests/load/predict.lua "$url" >/dev/null
echo "== low concurrency: 1 client, ${DURATION}s"
wrk -t1 -c1 -d"${DURATION}s" --latency -s tests/load/predict.lua "$url" | tail -3
echo "== 16 concurrent clients, ${DURATION}s"
cpu_seconds() { ps -eo comm,cputimes --no-headers | awk -v c="$1" '$1 ~ c {s += $2} END {print s + 0}'; }
before=$(for c in gunicorn postgres redis-server; do echo "$c $(cpu_seconds "$c")"; done)
wrk -t2 -c16 -d"${DURATION}s" --latency -s tests/load/predict.lua "$url" | tail -3
echo "CPU seconds used during that run (2 cores = $((2 * DURATION)) available):"
while read -r c b; do echo "  $c $(( $(cpu_seconds "$c") - b ))"; done <<<"$before"
stored=$($py manage.py shell -v 0 -c "from predictions.models import Prediction; print(Prediction.objects.count())")
echo "predictions stored: $stored"
