#!/usr/bin/env bash
# A training run on the real salaries.csv, end to end, for each TREE in turn (A B A B), one run
# at a time on a real Celery worker (PostgreSQL, Redis), loopback only.
#
# One throw-away database: migrated, the real file imported, a champion trained on it (by this
# checkout). Then, ROUNDS times, for every TREE: a worker from that tree on a private queue, and
# `manage.py retrain` from that tree, timed (wall clock, start-up and polling included); the
# run's own per-stage seconds are printed from the database. Alternating trees on the same
# database and rows is what makes the figures comparable on a noisy machine.
#
# Usage (from the repo root):  bash tests/load/retrain_benchmark.sh [TREE ...]   (default: this one)
# Environment: PG_URL (default postgres://postgres@127.0.0.1:5432), REDIS_URL (default
# redis://127.0.0.1:6379/10), ROUNDS (2), SALARIES_CSV (default ../shared/data/salaries.csv).
set -o errexit -o pipefail -o nounset
cd "$(dirname "$0")/../.."
here=$(pwd)
if [[ $# -eq 0 ]]; then set -- "$here"; fi

PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
ROUNDS="${ROUNDS:-2}"
db="mlpaygrade_retrain_bench_$$"
py="$here/.venv/bin/python"
export DATABASE_URL="$PG_URL/$db"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/10}"
export DEBUG=0 SECURE_SSL_REDIRECT=0 LOG_LEVEL=WARNING
export SECRET_KEY="bench-$(head -c 32 /dev/urandom | base64 | tr -d '/+=')"
csv="$(realpath "${SALARIES_CSV:-$here/../shared/data/salaries.csv}")"

mkdir -p "$here/var"
psql "$PG_URL/postgres" -q -c "CREATE DATABASE $db"
worker=""
cleanup() {
  [[ -n $worker ]] && kill "$worker" 2>/dev/null && wait "$worker" 2>/dev/null
  psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
}
trap cleanup EXIT

$py manage.py migrate --noinput -v 0
$py manage.py import_salaries "$csv" >/dev/null
echo "== the champion (trained on the same rows by $here)"
$py manage.py train_model --activate --no-evaluate >/dev/null

for round in $(seq "$ROUNDS"); do
  for tree in "$@"; do
    queue="retrain-bench-$$-$round-$(basename "$tree")"
    (cd "$tree" && CELERY_TASK_DEFAULT_QUEUE="$queue" exec "$py" -m celery -A portal worker \
      --pool=solo -Q "$queue" --loglevel=WARNING --without-gossip --without-mingle \
      >"$here/var/retrain-bench-worker.log" 2>&1) &
    worker=$!
    sleep 3
    started=$(date +%s.%N)
    (cd "$tree" && CELERY_TASK_DEFAULT_QUEUE="$queue" "$py" manage.py retrain >/dev/null 2>&1)
    wall=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    kill "$worker" && wait "$worker" 2>/dev/null || true
    worker=""
    stages=$($py manage.py shell -v 0 -c "
from mlmodel.models import TrainingRun
run = TrainingRun.objects.order_by('-id').first()
worker = (run.finished_at - run.started_at).total_seconds()
data = (run.model_version.training_data or {}) if run.model_version else {}
rows = {k: v for k, v in data.items() if k.startswith('rows')}
print(run.status, f'in the worker {worker:.1f} s;', rows, run.stage_seconds)")
    echo "round $round  $tree  retrain wall ${wall} s  $stages"
  done
done
