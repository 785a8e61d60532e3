#!/usr/bin/env bash
# Installs the JavaScript clients the integration tests use (OpenTelemetry JS SDK exporters),
# exactly as locked in tests/integration/js/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/../tests/integration/js"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
