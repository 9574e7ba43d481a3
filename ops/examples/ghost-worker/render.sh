#!/usr/bin/env bash
# render.sh DIR NATS_URL REDIS_URL MODE [HTTP]: writes DIR/trueup.yaml and
# DIR/declared/ for the ghost-worker case; HTTP is the processor's endpoint
# address (default 127.0.0.1:0, any free port).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
mkdir -p "$dir/declared"
cp "$here"/declared/*.yaml "$dir/declared/"
sed -e "s|@NATS_URL@|$2|g" -e "s|@REDIS_URL@|$3|g" -e "s|@DIR@|$dir|g" -e "s|@MODE@|$4|g" \
	-e "s|@HTTP_PROCESSOR@|${5:-127.0.0.1:0}|g" \
	"$here/trueup.yaml.in" >"$dir/trueup.yaml"
