#!/usr/bin/env bash
# The README's example command: installs what is missing, builds, and runs the main example.
# Arguments are passed on to the example (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build >/dev/null
exec build/bin/example_spiral "$@"
