#!/usr/bin/env bash
# End to end: when OpenBLAS reports a generic core on a CPU with AVX2, roentgen prints one line,
# runs itself again with OPENBLAS_CORETYPE set, and the second run uses the corrected core.
# ROENTGEN_BLAS_PRETEND_CORE=Prescott stands in for an OpenBLAS that does not know this CPU.
#   blas_core_correction.sh ROENTGEN_BINARY
set -euo pipefail
roentgen=$1
unset OPENBLAS_CORETYPE ROENTGEN_BLAS_CORRECTED_FROM
if ! grep -q "^cpu flags:.*avx2.*fma" <<<"$("$roentgen" info)"; then
  echo "skipped: this CPU has no AVX2 and FMA, so there is no better core to choose"
  exit 77
fi
out=$(ROENTGEN_BLAS_PRETEND_CORE=Prescott "$roentgen" info 2>&1)
echo "$out"
[ "$(grep -c 'running again with OPENBLAS_CORETYPE=' <<<"$out")" -eq 1 ] || { echo "FAIL: expected one correction line"; exit 1; }
grep -q '^blas core:.*set by roentgen: OpenBLAS chose Prescott' <<<"$out" || { echo "FAIL: the second run does not report the correction"; exit 1; }
core=$(sed -n 's/^blas core:  \([A-Za-z0-9]*\).*/\1/p' <<<"$out")
case "$core" in
  Haswell|Zen|SkylakeX|Cooperlake|SapphireRapids) echo "ok: corrected to $core" ;;
  *) echo "FAIL: the core in use after the correction is '$core'"; exit 1 ;;
esac
# A OPENBLAS_CORETYPE the user set is left alone: no correction line, the user's core.
out=$(OPENBLAS_CORETYPE=Prescott ROENTGEN_BLAS_PRETEND_CORE=Prescott "$roentgen" info 2>&1)
! grep -q 'running again' <<<"$out" || { echo "FAIL: corrected a core the user chose"; exit 1; }
grep -q '^blas core:  Prescott (OPENBLAS_CORETYPE=Prescott, set by the user)' <<<"$out" || { echo "FAIL: $out"; exit 1; }
echo "ok: the user's OPENBLAS_CORETYPE is kept"
