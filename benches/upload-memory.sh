#!/usr/bin/env bash
# Peak memory of the gateway while it takes a large upload: `folio serve` (release build) on a fresh data
# folder, one multipart upload of a SIZE_MIB file by curl, and the process's peak resident memory (VmHWM) before
# and after. Parser processes are children with their own memory and are not counted: this measures the
# gateway (and the rest of the serving process). The file is a PDF header and random bytes, so that content
# sniffing takes it; its processing then fails (over extract.max_file_mib), which does not matter here.
# Usage: benches/upload-memory.sh [SIZE_MIB]   (default 500; needs curl; prints one Markdown table row)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-500}
cargo build --release --locked -p folio -q
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
limit=$((size_mib + 100))
printf '[gateway]\nmax_upload_mib = %d\nmax_file_mib = %d\n' "$limit" "$limit" > "$work/folio.toml"
target/release/folio --config "$work/folio.toml" --data-dir "$work/data" --libreoffice off \
  serve --listen 127.0.0.1:0 --concurrency 1 > "$work/out" 2> "$work/log" &
pid=$!
for _ in $(seq 100); do grep -q 'serving on' "$work/out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's|^folio: serving on http://||p' "$work/out")
[ -n "$addr" ] || { cat "$work/log"; exit 1; }
printf 'title = "Memory"\n[[chapters]]\nid = "one"\ntitle = "One"\n' |
  curl -sf -X PUT --data-binary @- "http://$addr/v1/catalogues/memory" > /dev/null
{ printf '%%PDF-1.7\n'; head -c $((size_mib * 1024 * 1024)) /dev/urandom; } > "$work/big.pdf"
hwm() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }
before=$(hwm)
metadata='{"chapter":"one","state":"Spain","author":"A","title":"Big","kind":"text","role":"donor","modality":"bilateral","received":"2012-04-01","rights":"CC0"}'
start=$(date +%s.%N)
status=$(curl -s -o "$work/answer" -w '%{http_code}' -F "metadata=$metadata;type=application/json" \
  -F "file=@$work/big.pdf;type=application/pdf" "http://$addr/v1/catalogues/memory/contributions")
end=$(date +%s.%N)
after=$(hwm)
[ "$status" = 201 ] || { echo "upload answered $status: $(cat "$work/answer")"; exit 1; }
seconds=$(awk "BEGIN {printf \"%.1f\", $end - $start}")
echo "| ${size_mib} MiB | $((before / 1024)) MiB | $((after / 1024)) MiB | ${seconds} s |"
