#!/bin/sh
# Runs the scaling bench (benches/scaling.rs) on a machine that has none of Folio's tools, such as the
# 16-core machine lent for measurements: the release binaries and the OCR and rendering tools travel as
# archives made on a Debian 12 machine that has them (scripts/setup):
#
#   mkdir -p .devcarry .devtools/bin .devtools/lib .devtools/tessdata
#   cp /usr/bin/tesseract /usr/bin/pdftoppm /usr/bin/djpeg .devtools/bin/
#   ldd .devtools/bin/* | awk '{print $3}' | sort -u | grep '^/' \
#     | grep -Ev '/(libc|libm|libpthread|libdl|librt|libstdc\+\+|libgcc_s)\.so' | xargs -I{} cp -L {} .devtools/lib/
#   cp /usr/local/lib/folio/libpdfium.so .devtools/lib/
#   cp -r /usr/share/tesseract-ocr/5/tessdata/{eng,osd,spa,fra}.traineddata /usr/share/tesseract-ocr/5/tessdata/configs .devtools/tessdata/
#   (cd .devtools && tar -cJf ../.devcarry/tools.tar.xz lib bin tessdata)
#   cargo bench -p folio --bench scaling --no-run   # then copy target/release/folio and the bench binary:
#   strip -o /tmp/folio target/release/folio && xz -c /tmp/folio > .devcarry/folio.xz
#   strip -o /tmp/scaling target/release/deps/scaling-<hash> && xz -c /tmp/scaling > .devcarry/scaling.xz
#
# Then, from the repository's root on that machine: benches/scaling-on-a-bare-machine.sh OUT_DIR [bench args]
set -eu
out=$1
shift
tools=/tmp/folio-tools
mkdir -p "$tools" "$out"
tar -xJf .devcarry/tools.tar.xz -C "$tools"
xz -dc .devcarry/folio.xz > "$tools/bin/folio"
xz -dc .devcarry/scaling.xz > "$tools/bin/scaling"
chmod +x "$tools/bin/folio" "$tools/bin/scaling"
export LD_LIBRARY_PATH="$tools/lib" PATH="$tools/bin:$PATH" TESSDATA_PREFIX="$tools/tessdata" \
  FOLIO_PDFIUM_LIB="$tools/lib/libpdfium.so"
{
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
  grep -m1 'model name' /proc/cpuinfo || true
  date -u +"date: %Y-%m-%dT%H:%MZ"
  tesseract --version 2>&1 | head -1
} | tee "$out/machine.txt"
scaling --folio "$tools/bin/folio" --examples examples/ccm-2012 --work /tmp/folio-scaling --csv "$out/scaling.csv" "$@" \
  2>&1 | tee "$out/scaling.txt"
