#!/usr/bin/env bash
# render.sh DIR NATS_URL REDIS_URL MODE: writes DIR/trueup.yaml and DIR/declared/
# for the ghost-worker case.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
mkdir -p "$dir/declared"
cp "$here"/declared/*.yaml "$dir/declared/"
sed -e "s|@NATS_URL@|$2|g" -e "s|@REDIS_URL@|$3|g" -e "s|@DIR@|$dir|g" -e "s|@MODE@|$4|g" \
	"$here/trueup.yaml.in" >"$dir/trueup.yaml"
