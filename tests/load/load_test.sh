#!/usr/bin/env bash
# Bounded load test of POST /api/v1/predictions/ against the baseline, side by side, loopback only.
#
# Starts our API (gunicorn, docker/gunicorn.conf.py, DEBUG=0, PostgreSQL, Redis) from each TREE
# and, when BASELINE_DIR is set, the baseline service of ../shared/bench (FastAPI + the original
# pipeline, README there) on gunicorn/uvicorn. Then, ROUNDS times, for each client count in
# CLIENTS: every server in turn (alternating: A B A B) for DURATION seconds with wrk. Prints one
# line per run, the RSS of every gunicorn worker of our API before and after all runs, and the
# number of predictions stored against the number of answers wrk counted.
#
# Usage (from the repo root; needs wrk: apt-get install wrk):
#   DURATION=30 CLIENTS="1 16 64" BASELINE_DIR=/tmp/bench BASELINE_VENV=/tmp/venv \
#     bash tests/load/load_test.sh [TREE ...]
# TREE: checkouts to measure (default: this one); each gets its own throw-away database.
# BASELINE_DIR: a writable copy of ../shared/bench where `seed_model.py` wrote
# out/seed_pipeline.joblib; BASELINE_VENV: the virtualenv its README installs.
# Environment: PG_URL (default postgres://postgres@127.0.0.1:5432), REDIS_URL (default
# redis://127.0.0.1:6379/13), WORKERS (3), BASELINE_WORKERS (2, as its README), ROUNDS (2),
# WRK_TIMEOUT (10s); HOST_NOISE=1: after each round, a row "host-noise" with the wall-time
# percentiles of one fixed piece of CPU work repeated (tests/load/host_noise.py, ~5 s), the
# spread this host gives identical work in that minute; SERVER_CPUS and CLIENT_CPUS (unset: any
# core): taskset CPU lists for the servers and for wrk, to measure the web tier on cores of its
# own; move PostgreSQL and Redis off SERVER_CPUS yourself (`taskset -a -p -c LIST PID` for each
# of their processes), as if the database ran on another host.
set -o errexit -o pipefail -o nounset
cd "$(dirname "$0")/../.."
here=$(pwd)
if [[ $# -eq 0 ]]; then set -- "$here"; fi

PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
DURATION="${DURATION:-30}"
CLIENTS="${CLIENTS:-1 16 64}"
ROUNDS="${ROUNDS:-2}"
WORKERS="${WORKERS:-3}"
BASELINE_WORKERS="${BASELINE_WORKERS:-2}"
BASELINE_DIR="${BASELINE_DIR:-}"
BASELINE_VENV="${BASELINE_VENV:-}"
FIRST_PORT="${FIRST_PORT:-8770}"
# wrk counts an answer slower than this as a timeout error (its default, 2 s, is shorter than the
# queueing a closed loop of 64 clients builds up in front of 3 workers on a busy machine).
WRK_TIMEOUT="${WRK_TIMEOUT:-10s}"
SERVER_CPUS="${SERVER_CPUS:-}"
CLIENT_CPUS="${CLIENT_CPUS:-}"
exec_on_cpus() {  # CPUS COMMAND... : become COMMAND on those cores (any core when CPUS is empty)
  local cpus=$1; shift
  if [[ -n $cpus ]]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}
MAX_RSS_GROWTH_PERCENT=10
py="$here/.venv/bin/python"
# The real data for every tree (a tree elsewhere would otherwise train on demo data).
export SALARIES_CSV="${SALARIES_CSV:-$here/../shared/data/salaries.csv}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/13}"
export DEBUG=0 SECURE_SSL_REDIRECT=0 LOG_LEVEL=WARNING
# Capacity, not policy: the limiter still runs on every request, with a rate it never reaches.
export RATELIMIT_PREDICT="100000000/m"
export SECRET_KEY="load-$(head -c 32 /dev/urandom | base64 | tr -d '/+=')"

names=() urls=() pids=() dbs=() tokens=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  for db in "${dbs[@]}"; do psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; done
}
trap cleanup EXIT

wait_for() {  # URL PID: until it answers, at most 60 s, while PID (the server we started) lives
  for _ in $(seq 300); do
    kill -0 "$2" 2>/dev/null || { echo "the server for $1 exited" >&2; return 1; }
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.2
  done
  echo "no answer from $1" >&2; return 1
}
port_free() {  # PORT: nothing listens there (else another server would answer our runs)
  ! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/" || { echo "port $1 is in use" >&2; return 1; }
}

mkdir -p "$here/var"  # the servers' logs (git ignores var/)
port=$FIRST_PORT
index=0
for tree in "$@"; do
  index=$((index + 1))
  db="mlpaygrade_load_$$_$index"
  psql "$PG_URL/postgres" -q -c "CREATE DATABASE $db"
  dbs+=("$db")
  export DATABASE_URL="$PG_URL/$db"
  (cd "$tree" && $py manage.py migrate --noinput -v 0 && $py manage.py ensure_active_model >/dev/null \
    && $py manage.py create_demo_user --username load --password "load-$(date +%s)-pass" >/dev/null)
  port_free "$port"
  token=$(cd "$tree" && $py manage.py shell -v 0 -c "
from portal.accounts.models import User
from portal.accounts.services import api_token_create
print(api_token_create(user=User.objects.get(username='load'), name='load')[1])")
  (cd "$tree" && exec_on_cpus "$SERVER_CPUS" "$here/.venv/bin/gunicorn" portal.wsgi:application \
    --config "$tree/docker/gunicorn.conf.py" --bind "127.0.0.1:$port" --workers "$WORKERS" \
    --no-control-socket --access-logfile /dev/null --error-logfile "$here/var/load-gunicorn-$index.log") &
  pids+=("$!")
  names+=("ours-$index:$(basename "$tree")")
  urls+=("http://127.0.0.1:$port/api/v1/predictions/")
  tokens+=("$token")
  wait_for "http://127.0.0.1:$port/healthz" "${pids[-1]}"
  port=$((port + 1))
done
if [[ -n $BASELINE_DIR ]]; then
  port_free "$port"
  (cd "$BASELINE_DIR" && exec_on_cpus "$SERVER_CPUS" "$BASELINE_VENV/bin/gunicorn" seed_service:app \
    -k uvicorn.workers.UvicornWorker -w "$BASELINE_WORKERS" -b "127.0.0.1:$port" \
    --no-control-socket --error-logfile "$here/var/load-baseline.log") &
  pids+=("$!")
  names+=("baseline")
  urls+=("http://127.0.0.1:$port/predict")
  tokens+=("")
  wait_for "http://127.0.0.1:$port/health" "${pids[-1]}"
fi

script_for() { [[ ${names[$1]} == baseline ]] && echo tests/load/baseline.lua || echo tests/load/predict.lua; }
run_wrk() {  # INDEX CLIENTS DURATION -> wrk's summary lines
  local threads=$(($2 < 2 ? 1 : 2))
  API_TOKEN="${tokens[$1]}" exec_on_cpus "$CLIENT_CPUS" wrk -t"$threads" -c"$2" -d"$3s" --timeout "$WRK_TIMEOUT" \
    -s "$(script_for "$1")" "${urls[$1]}" | tail -3
}
workers_rss() {  # INDEX -> "pid:rss_kb ..." of the gunicorn workers (children of the master)
  ps -o pid=,rss= --ppid "${pids[$1]}" | awk '{printf "%s:%s ", $1, $2}'
}
our_servers=$#
trees=("$@")

echo "== warm-up: 3 s at 2 clients each"
for i in "${!names[@]}"; do run_wrk "$i" 2 3 >/dev/null; done
declare -A rss_before answered
for ((i = 0; i < our_servers; i++)); do rss_before[$i]=$(workers_rss "$i"); answered[$i]=0; done

echo "== $ROUNDS rounds; each: CLIENTS=($CLIENTS) x servers, ${DURATION}s per run"
echo "server | clients | round | req/s | p50 ms | p90 ms | p99 ms | max ms | errors (connect read write timeout non2xx)"
for round in $(seq "$ROUNDS"); do
  for clients in $CLIENTS; do
    for i in "${!names[@]}"; do
      out=$(run_wrk "$i" "$clients" "$DURATION")
      requests=$(sed -n 's/^requests=\([0-9]*\).*/\1/p' <<<"$out")
      rps=$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$out")
      read -r p50 p90 p99 max < <(sed -n 's/^latency_ms p50=\(.*\) p90=\(.*\) p99=\(.*\) max=\(.*\)$/\1 \2 \3 \4/p' <<<"$out")
      errors=$(sed -n 's/^errors //p' <<<"$out")
      echo "${names[$i]} | $clients | $round | $rps | $p50 | $p90 | $p99 | $max | $errors"
      if ((i < our_servers)); then answered[$i]=$(( ${answered[$i]} + requests )); fi
    done
  done
  if [[ ${HOST_NOISE:-0} == 1 ]]; then
    read -r p50 p90 p99 max < <("$py" tests/load/host_noise.py --repeats 1000 --summary \
      | sed -n 's/^latency_ms p50=\(.*\) p90=\(.*\) p99=\(.*\) max=\(.*\)$/\1 \2 \3 \4/p')
    echo "host-noise | - | $round | - | $p50 | $p90 | $p99 | $max | -"
  fi
done

echo "== memory (RSS) of every gunicorn worker of our API, before -> after the runs"
status=0
for ((i = 0; i < our_servers; i++)); do
  after=$(workers_rss "$i")
  for entry in ${rss_before[$i]}; do
    pid=${entry%%:*} before_kb=${entry##*:}
    after_kb=$(tr ' ' '\n' <<<"$after" | awk -F: -v p="$pid" '$1 == p {print $2}')
    if [[ -z $after_kb ]]; then echo "${names[$i]} worker $pid: gone (restarted?)"; status=1; continue; fi
    growth=$(awk -v a="$after_kb" -v b="$before_kb" 'BEGIN {printf "%.1f", (a - b) * 100 / b}')
    verdict=ok
    awk -v g="$growth" -v m="$MAX_RSS_GROWTH_PERCENT" 'BEGIN {exit !(g > m)}' && { verdict="GREW > ${MAX_RSS_GROWTH_PERCENT} %"; status=1; }
    echo "${names[$i]} worker $pid: $((before_kb / 1024)) MB -> $((after_kb / 1024)) MB ($growth %) $verdict"
  done
  export DATABASE_URL="$PG_URL/${dbs[$i]}"
  stored=$(cd "${trees[$i]}" && $py manage.py shell -v 0 -c "from predictions.models import Prediction; print(Prediction.objects.count())")
  echo "${names[$i]}: answers counted by wrk in the timed runs $((answered[$i])), predictions stored (warm-up runs and in-flight answers included) $stored"
done
exit $status
