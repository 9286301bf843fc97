#!/usr/bin/env bash
# API throughput with a running experiment (50/50 plus a shadow arm) against none, side by side.
#
# One gunicorn (docker/gunicorn.conf.py, DEBUG=0, PostgreSQL, Redis) and one Celery worker (it
# records the exposures and scores the shadow arm, on the same two cores) serve both modes; the
# modes alternate (none, experiment, none, experiment …) for ROUNDS rounds of DURATION seconds
# at CLIENTS concurrent wrk connections, loopback only. Prints one line per run, the mean
# requests/s of each mode and their ratio, the machine's CPU per request in each mode and
# their ratio, and the exposures the worker recorded.
#
# Usage (from the repo root; needs wrk):  bash tests/load/experiment_throughput.sh
# Environment: PG_URL (default postgres://postgres@127.0.0.1:5432), REDIS_URL (default
# redis://127.0.0.1:6379/12), DURATION (20), CLIENTS (16), ROUNDS (3), WORKERS (3), PORT (8790),
# CELERY_WORKER_NICE (0). Each run starts once the worker has recorded
# every exposure of the runs before it, so no run pays for another's background work.
set -o errexit -o pipefail -o nounset
cd "$(dirname "$0")/../.."

PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
DURATION="${DURATION:-20}"
CLIENTS="${CLIENTS:-16}"
ROUNDS="${ROUNDS:-3}"
WORKERS="${WORKERS:-3}"
PORT="${PORT:-8790}"
db="mlpaygrade_experiment_bench_$$"
queue="experiment-bench-$$"
py=.venv/bin/python

export DATABASE_URL="$PG_URL/$db"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/12}"
export CELERY_TASK_DEFAULT_QUEUE="$queue"
export DEBUG=0 SECURE_SSL_REDIRECT=0 LOG_LEVEL=WARNING
export RATELIMIT_PREDICT="100000000/m"
export SECRET_KEY="bench-$(head -c 32 /dev/urandom | base64 | tr -d '/+=')"
export SALARIES_CSV="${SALARIES_CSV:-../shared/data/salaries.csv}"

mkdir -p var  # the servers' logs (git ignores var/)
psql "$PG_URL/postgres" -q -c "CREATE DATABASE $db"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
}
trap cleanup EXIT

$py manage.py migrate --noinput -v 0
$py manage.py ensure_active_model >/dev/null
$py manage.py create_demo_user --username bench --password "bench-$(date +%s)-pass" >/dev/null
API_TOKEN=$($py manage.py shell -v 0 -c "
from mlmodel.models import ModelVersion
from mlmodel.services import model_version_export, model_version_import
from portal.accounts.models import User
from portal.accounts.services import api_token_create
champion = ModelVersion.objects.get(status='active')
for _ in range(2):  # two more versions (same artifact): the cost measured is the routing's
    model_version_import(payload=model_version_export(version=champion.version))
print(api_token_create(user=User.objects.get(username='bench'), name='bench')[1])")
export API_TOKEN

# CELERY_WORKER_NICE (default 0) runs the worker at a lower priority than the web processes.
nice -n "${CELERY_WORKER_NICE:-0}" .venv/bin/celery -A portal worker --loglevel=WARNING \
  --concurrency=1 -Q "$queue" --without-gossip --without-mingle \
  >var/experiment-bench-worker.log 2>&1 &
pids+=($!)
.venv/bin/gunicorn portal.wsgi:application --config docker/gunicorn.conf.py \
  --bind "127.0.0.1:$PORT" --workers "$WORKERS" \
  --access-logfile /dev/null --error-logfile var/experiment-bench-gunicorn.log &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
url="http://127.0.0.1:$PORT/api/v1/predictions/"
wrk -t1 -c2 -d3s -s tests/load/predict.lua "$url" >/dev/null

experiment() {  # start | stop
  $py manage.py shell -v 0 -c "
import sys
from mlmodel.models import Experiment
from mlmodel.rollout import services
if '$1' == 'start':
    e = services.experiment_create(name='bench', arms=[
        {'model_version': 2, 'weight': 50}, {'model_version': 3, 'weight': 0, 'role': 'shadow'}])
    services.experiment_start(experiment_id=e.pk)
else:
    for e in Experiment.objects.filter(status='running'):
        services.experiment_stop(experiment_id=e.pk)"
  sleep 3  # every worker re-reads its routing within MLMODEL_RELOAD_CHECK_SECONDS
}

pending() {  # predictions of an experiment whose exposure is not recorded yet
  $py manage.py shell -v 0 -c "
from predictions.models import PendingExposure
print(PendingExposure.objects.count())"
}
drain() {  # the next run starts only when the worker has caught up (at most 120 s)
  for _ in $(seq 60); do [[ $(pending) == 0 ]] && return 0; sleep 2; done
  echo "the worker did not catch up within 120 s: $(pending) exposures pending" >&2; return 1
}

busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }  # user nice system irq softirq
ticks_per_second=$(getconf CLK_TCK)
cpu_seconds() { ps -eo comm,cputimes --no-headers | awk -v c="$1" '$1 ~ c {s += $2} END {print s + 0}'; }
declare -A total=([none]=0 [experiment]=0) cpu_ms=([none]=0 [experiment]=0)
for round in $(seq "$ROUNDS"); do
  for mode in none experiment; do
    [[ $mode == experiment ]] && experiment start
    ticks=$(busy_ticks)
    before=$(for c in gunicorn celery postgres redis-server; do printf '%s ' "$(cpu_seconds "$c")"; done)
    rps=$(wrk -t2 -c"$CLIENTS" -d"${DURATION}s" -s tests/load/predict.lua "$url" \
      | awk '/Requests\/sec/ {print $2}')
    ticks=$(( $(busy_ticks) - ticks ))
    after=$(for c in gunicorn celery postgres redis-server; do printf '%s ' "$(cpu_seconds "$c")"; done)
    cpu=$(paste <(tr ' ' '\n' <<<"$before") <(tr ' ' '\n' <<<"$after") \
      | awk 'NF == 2 {printf "%d ", $2 - $1}')
    lag=$(pending)
    [[ $mode == experiment ]] && experiment stop
    t0=$(date +%s.%N); drain; caught_up=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    per_request=$(awk -v t="$ticks" -v hz="$ticks_per_second" -v r="$rps" -v d="$DURATION" \
      'BEGIN {printf "%.2f", t / hz * 1000 / (r * d)}')
    echo "round $round  $mode  $rps req/s  $per_request CPU ms/request (machine)" \
      " CPU s (gunicorn celery postgres redis): $cpu" \
      " pending at the end: $lag, recorded ${caught_up}s later"
    total[$mode]=$(awk -v a="${total[$mode]}" -v b="$rps" 'BEGIN {print a + b}')
    cpu_ms[$mode]=$(awk -v a="${cpu_ms[$mode]}" -v b="$per_request" 'BEGIN {print a + b}')
  done
done
none=$(awk -v t="${total[none]}" -v r="$ROUNDS" 'BEGIN {printf "%.1f", t / r}')
with=$(awk -v t="${total[experiment]}" -v r="$ROUNDS" 'BEGIN {printf "%.1f", t / r}')
echo "mean: none $none req/s, experiment $with req/s, ratio $(awk -v a="$with" -v b="$none" 'BEGIN {printf "%.3f", a / b}')"
# The machine's busy CPU per answered request (every process: web, worker, PostgreSQL, Redis,
# wrk): less noisy than req/s when the neighbours' load varies; its ratio is the capacity an
# experiment leaves (none's CPU per request / the experiment's).
echo "CPU per request: none ${cpu_ms[none]} ms, experiment ${cpu_ms[experiment]} ms (sums over $ROUNDS rounds)," \
  "capacity ratio $(awk -v a="${cpu_ms[none]}" -v b="${cpu_ms[experiment]}" 'BEGIN {printf "%.3f", a / b}')"
sleep 5
$py manage.py shell -v 0 -c "
from django.db.models import Sum
from mlmodel.models import Assignment
from predictions.models import PendingExposure, Prediction, ShadowPrediction
p = Prediction.objects.filter(experiment__isnull=False)
print('in experiments:', p.count(), 'predictions;', p.count() - PendingExposure.objects.count(),
      'exposures recorded;', Assignment.objects.aggregate(n=Sum('exposures'))['n'], 'counted;',
      ShadowPrediction.objects.count(), 'shadow answers')"
