#!/usr/bin/env bash
# Two machines, for real as far as Open MPI can tell: two network namespaces joined by a veth pair,
# each with its own host name, one rank in each, talking over Open MPI's TCP transport only
# (no shared memory). mpirun starts the second rank through an "ssh" that enters the other
# namespace. Runs distributed_tests that way, then `roentgen train` for an epoch (rank 0 prints
# both hosts). Needs root, ip and unshare; otherwise it is skipped (exit 77) and says why.
# usage: distributed_two_hosts.sh MPIEXEC DISTRIBUTED_TESTS ROENTGEN
set -uo pipefail
mpiexec=$1 tests=$2 roentgen=$3
skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null && command -v unshare >/dev/null || skip "needs ip (iproute2) and unshare"

tag=rg$$
net=198.18.77  # the benchmarking range (RFC 2544): on no real network
work=$(mktemp -d)
cleanup() { [ -n "${KEEP:-}" ] && return; ip netns del ${tag}a 2>/dev/null; ip netns del ${tag}b 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
ip netns add ${tag}a && ip netns add ${tag}b || skip "cannot make network namespaces here"
ip link add ${tag}x type veth peer name ${tag}y || skip "cannot make a veth pair here"
ip link set ${tag}x netns ${tag}a && ip link set ${tag}y netns ${tag}b
ip -n ${tag}a addr add $net.1/24 dev ${tag}x && ip -n ${tag}b addr add $net.2/24 dev ${tag}y
for ns in a b; do ip -n $tag$ns link set lo up; done
ip -n ${tag}a link set ${tag}x up && ip -n ${tag}b link set ${tag}y up
for _ in $(seq 100); do  # until both ends are up (a fresh veth takes a moment)
  ip -n ${tag}a link show ${tag}x | grep -q "state UP" && ip -n ${tag}b link show ${tag}y | grep -q "state UP" && break
  sleep 0.1
done

cat > "$work/launch" <<AGENT  # not named ssh: mpirun would pass it ssh's -x
#!/bin/sh
# mpirun's ssh: runs the command in the namespace that owns the host's address, under its name.
host=\$1; shift
case "\$host" in $net.1) ns=${tag}a; name=node-a ;; $net.2) ns=${tag}b; name=node-b ;; *) exit 1 ;; esac
exec ip netns exec "\$ns" unshare --uts sh -c "hostname \$name; \$*"
AGENT
chmod +x "$work/launch"
printf '%s slots=1\n%s slots=1\n' $net.1 $net.2 > "$work/hosts"

# On "machine" a, under its own name: mpirun over TCP between the two.
on_a() {
  ip netns exec ${tag}a unshare --uts sh -c "hostname node-a; $*"
}
mpi="$mpiexec --allow-run-as-root --hostfile $work/hosts -np 2 --mca plm_rsh_agent $work/launch \
  --mca oob_tcp_if_include $net.0/24 --mca btl tcp,self --mca btl_tcp_if_include $net.0/24 -x OMP_NUM_THREADS=1"

echo "== distributed_tests, one rank on each of node-a and node-b (TCP)"
on_a "$mpi $tests" > "$work/tests.log" 2>&1
code=$?
grep -E "test cases|ERROR|values" "$work/tests.log" | sort | uniq -c
[ $code -eq 0 ] || { tail -40 "$work/tests.log"; echo "FAIL: distributed_tests over two hosts (exit $code)"; exit 1; }

echo "== roentgen train, an epoch on two hosts"
"$roentgen" synthetic --out "$work/data" --patients 12 --size 48 --seed 4 > /dev/null
on_a "$mpi $roentgen train --train $work/data/train.csv --valid $work/data/valid.csv --images $work/data/images \
  --image-size 32 --batch-size 4 --epochs 1 --out $work/run" > "$work/train.log" 2>&1
code=$?
grep -E "rank [01]:|done in" "$work/train.log"
[ $code -eq 0 ] || { tail -30 "$work/train.log"; echo "FAIL: training on two hosts (exit $code)"; exit 1; }
grep -q "rank 0: node-a" "$work/train.log" && grep -q "rank 1: node-b" "$work/train.log" ||
  { echo "FAIL: the ranks did not run on the two hosts"; exit 1; }
[ -f "$work/run/best.safetensors" ] || { echo "FAIL: no best.safetensors"; exit 1; }
echo "passed"
