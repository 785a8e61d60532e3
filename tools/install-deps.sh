#!/usr/bin/env bash
# Installs what Vivace needs to build and test on Debian 12, from Debian's packages and the npm
# registry only. Idempotent: installs only what is missing. Run as root (or with sudo).
set -euo pipefail

PKGS=(cmake ninja-build g++ ccache mold pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libzstd-dev liblz4-dev zlib1g-dev libsimdjson-dev libyaml-cpp-dev libre2-dev libfmt-dev libcli11-dev libxxhash-dev
  libboost-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  curl python3)

missing=()
# Node.js and npm run the integration tests' real OpenTelemetry clients. The machine image may
# ship its own Node (with npm inside); only when there is none do we take Debian's.
command -v node > /dev/null || PKGS+=(nodejs)
command -v npm > /dev/null || PKGS+=(npm)
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
