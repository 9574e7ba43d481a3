#!/usr/bin/env bash
# ops/install-deps.sh - installs the Debian 12 packages trueup builds, runs and
# tests with. Idempotent: installs only what is missing. Needs root or sudo.
# Installing the server packages does not start them: trueup's scripts start
# their own servers on loopback.
set -euo pipefail

PKGS=(
	build-essential cmake pkg-config git
	protobuf-c-compiler libprotobuf-c-dev
	libnats-dev nats-server
	libhiredis-dev redis-server redis-tools
	liblmdb-dev lmdb-utils
	libyaml-dev libjansson-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev
	libmongoc-dev libbson-dev
	libcmocka-dev
	clang libclang-rt-14-dev
	docker.io busybox-static
	python3 python3-kubernetes python3-pymongo openssl curl
	jq procps
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
# Node.js and npm run the example drift consumer (ops/examples/node-consumer) and
# its test; any install of them will do (Debian's, or NodeSource's, whose
# nodejs package carries npm and conflicts with Debian's npm).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	missing+=(nodejs npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: need root or sudo for: ${missing[*]}" >&2; exit 1; }
	SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
