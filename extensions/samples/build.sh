#!/bin/sh
# Builds every sample extension into a bundle directory:
#   OUTDIR/<sample>/manifest.json and OUTDIR/<sample>/module.wasm
# Usage: extensions/samples/build.sh [OUTDIR]   (default: build/bundles)
# OUTDIR is relative to the current directory. Bundles are build artifacts:
# never commit them.
set -eu

out=${1:-build/bundles}
mkdir -p "$out"
out=$(cd "$out" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

for manifest in $(find extensions/samples -name manifest.json | sort); do
	dir=$(dirname "$manifest")
	name=${dir#extensions/samples/}
	module=$(sed -n 's/.*"module"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$manifest")
	mkdir -p "$out/$name"
	GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' \
		-o "$out/$name/${module:-module.wasm}" "./$dir"
	cp "$manifest" "$out/$name/manifest.json"
	echo "$out/$name"
done
