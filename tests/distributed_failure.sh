#!/usr/bin/env bash
# Failure and preemption, end to end with `roentgen train` (DenseNet121 at 32 px on synthetic
# images):
#   1. SIGTERM to one process: it stops after a step, writes last.safetensors, exits non-zero and
#      says how to resume; the resumed run completes. A second signal ends it at once.
#   2. SIGUSR1 to mpirun (2 ranks, --sync-batch-norm off), which passes it to both ranks (its own
#      SIGTERM kills them 1 s later): every rank stops alike; resuming with another number of
#      ranks is refused (each rank normalized its own slice), with 2 it completes.
#   3. One rank killed (SIGKILL) under mpirun: the job ends non-zero within 30 s; the last complete
#      checkpoint loads and a resumed run (on 1 process: synchronized batch norm trains the same
#      model on any number) completes.
# usage: distributed_failure.sh ROENTGEN [MPIEXEC]   (without MPIEXEC, part 1 only)
set -uo pipefail
roentgen=$1
mpiexec=${2:-}
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
trap ':' USR1  # mpirun passes SIGUSR1 to its whole process group, this shell too
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }
mpi() { "$mpiexec" --allow-run-as-root --oversubscribe --bind-to none -np "$@"; }
mpi_background() { (exec "$mpiexec" --allow-run-as-root --oversubscribe --bind-to none -np "$@") & }  # $! is mpirun

"$roentgen" synthetic --out "$work/data" --patients 24 --size 48 --seed 2 > /dev/null || fail "synthetic"
args=(train --train "$work/data/train.csv" --valid "$work/data/valid.csv" --images "$work/data/images"
      --image-size 32 --batch-size 4 --threads 1 --no-augment)

# Waits until file $1 exists while process $2 runs (at most 120 s).
wait_for() {
  for _ in $(seq 1200); do
    [ -e "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || fail "the run ended before $1 appeared"
    sleep 0.1
  done
  fail "$1 never appeared"
}

echo "== 1. SIGTERM to one process"
"$roentgen" "${args[@]}" --epochs 100 --out "$work/one" > "$work/one.log" 2>&1 &
pid=$!
wait_for "$work/one/log.csv" $pid
kill -TERM $pid
wait $pid
code=$?
[ $code -ne 0 ] || fail "an interrupted run exited 0"
grep -q "interrupted by a signal" "$work/one.log" || fail "no interruption message"
grep -q -- "to resume:.*--resume 1" "$work/one.log" || fail "no resume command"
epochs_done=$(($(wc -l < "$work/one/log.csv") - 1))
"$roentgen" "${args[@]}" --epochs $((epochs_done + 1)) --out "$work/one" --resume 1 > "$work/one-resume.log" 2>&1 ||
  fail "the resumed run failed"
grep -q "resuming from" "$work/one-resume.log" || fail "the resumed run did not resume"
echo "   stopped with exit $code after $epochs_done epochs; resumed to epoch $((epochs_done + 1))"

"$roentgen" "${args[@]}" --epochs 100 --out "$work/twice" > "$work/twice.log" 2>&1 &
pid=$!
wait_for "$work/twice/log.csv" $pid
kill -TERM $pid; sleep 0.05; kill -TERM $pid
wait $pid
code=$?
[ $code -eq 143 ] || fail "a second SIGTERM should end the process at once with 143, got $code"
echo "   a second signal: exit $code at once"

[ -n "$mpiexec" ] || { echo "no mpiexec: parts 2 and 3 need MPI"; exit 0; }

echo "== 2. SIGUSR1 to mpirun, 2 ranks, --sync-batch-norm off (batches of 8: 4 images a slice)"
per_rank=(--sync-batch-norm off --batch-size 8)
mpi_background 2 "$roentgen" "${args[@]}" --epochs 100 "${per_rank[@]}" --out "$work/two" > "$work/two.log" 2>&1
pid=$!
wait_for "$work/two/log.csv" $pid
kill -USR1 $pid
wait $pid
[ $? -ne 0 ] || fail "an interrupted 2-rank run exited 0"
[ "$(grep -c "interrupted by a signal" "$work/two.log")" -eq 1 ] || fail "rank 0 alone should report the stop"
epochs_done=$(($(wc -l < "$work/two/log.csv") - 1))
"$roentgen" "${args[@]}" --epochs 100 "${per_rank[@]}" --out "$work/two" --resume 1 > "$work/two-one.log" 2>&1 &&
  fail "resuming a per-rank batch norm run on 1 process was not refused"
grep -q "batch norm statistics was over each of 2 ranks' slices" "$work/two-one.log" || fail "no clear refusal"
mpi 2 "$roentgen" "${args[@]}" --epochs $((epochs_done + 1)) "${per_rank[@]}" --out "$work/two" --resume 1 \
  > "$work/two-resume.log" 2>&1 || fail "the resumed 2-rank run failed"
echo "   stopped after $epochs_done epochs; 1 process refused; 2 ranks resumed"

echo "== 3. one of 2 ranks killed"
mpi_background 2 "$roentgen" "${args[@]}" --epochs 100 --out "$work/kill" > "$work/kill.log" 2>&1
pid=$!
wait_for "$work/kill/log.csv" $pid
victim=$(pgrep -P $pid -f "roentgen train" | tail -1)
[ -n "$victim" ] || fail "no rank process found under mpirun"
start=$(date +%s)
kill -KILL "$victim"
for _ in $(seq 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && { kill -KILL $pid; fail "mpirun still runs 30 s after a rank died"; }
wait $pid
code=$?
[ $code -ne 0 ] || fail "mpirun exited 0 after a rank died"
echo "   mpirun exited $code, $(($(date +%s) - start)) s after the kill"
"$roentgen" export --checkpoint "$work/kill/last.safetensors" --out "$work/kill-model.safetensors" > /dev/null ||
  fail "last.safetensors does not load"
epochs_done=$(($(wc -l < "$work/kill/log.csv") - 1))
"$roentgen" "${args[@]}" --epochs $((epochs_done + 1)) --out "$work/kill" --resume 1 > "$work/kill-resume.log" 2>&1 ||
  fail "resuming on 1 process failed"
echo "   resumed on 1 process to epoch $((epochs_done + 1))"
echo "all passed"
