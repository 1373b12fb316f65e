#!/bin/sh
# The profile reports as a person sees them: the demo (CDNOW in English,
# the retail shop in Chinese) writes cdnow_report.html and retail_report.html;
# each page is well-formed (xmllint), and Debian's chromium renders it
# headless to a PNG that is the expected size, not blank, has the charts'
# colours and logged no console error; a Chinese line renders with a CJK font
# (its pixels differ from the same line in another script and from the
# missing-glyph boxes of private-use characters). The PNGs stay in
# results/report/ as test artefacts. Without chromium the browser part is
# skipped (PERSONA_REQUIRE_CLIENTS=1, as tools/test sets, makes that a failure).
set -u
cd "$(dirname "$0")/.."
status=0
fail() { echo "not ok - $*"; status=1; }
out="$PWD/results/report"
rm -rf "$out" && mkdir -p "$out"
db=persona_report
dropdb --if-exists "$db" && createdb "$db"

# the demo writes both reports and prints their paths
if ! PGDATABASE=$db PGOPTIONS="-c client_min_messages=warning" \
     psql -X -q -v ON_ERROR_STOP=1 -v report_dir="$out" -f demo/cdnow.sql > "$out/demo.log" 2>&1; then
  fail "the demo failed: $(tail -5 "$out/demo.log")"
fi
for r in cdnow retail; do
  page="$out/${r}_report.html"
  if grep -qx "$page" "$out/demo.log" && [ -s "$page" ]; then
    echo "ok - the demo wrote and printed $r's report ($(wc -c < "$page") bytes)"
  else
    fail "the demo did not write or print $page"
  fi
  if xmllint --noout "$page" 2> "$out/${r}_xmllint.log"; then
    echo "ok - $r's report is well-formed (xmllint)"
  else
    fail "$r's report does not parse: $(head -3 "$out/${r}_xmllint.log")"
  fi
done

browser=$(command -v chromium || true)
if [ -z "$browser" ] || [ ! -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import PIL' 2>/dev/null; then
  if [ -n "${PERSONA_REQUIRE_CLIENTS:-}" ]; then
    fail "chromium or python3-pil is missing (tools/bootstrap with PERSONA_TEST_PACKAGES=1 installs them)"
  else
    echo "ok - # SKIP no chromium / python3-pil"
  fi
  dropdb "$db"
  exit $status
fi
# one headless render: page, PNG, window height; the browser's log next to the PNG
render() {
  HOME="$out" "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --enable-logging=stderr --v=0 --window-size=800,"$3" --screenshot="$2" "file://$1" > "$2.log" 2>&1
}
for r in cdnow retail; do
  render "$out/${r}_report.html" "$out/${r}_report.png" 4000 || fail "chromium failed on $r's report: $(tail -3 "$out/${r}_report.png.log")"
  if grep -E 'CONSOLE|Uncaught|Refused to|net::ERR' "$out/${r}_report.png.log" > "$out/${r}_console.log"; then
    fail "$r's report logged console errors: $(head -3 "$out/${r}_console.log")"
  else
    echo "ok - chromium rendered $r's report without console errors or fetches"
  fi
  # expected size, not blank, the charts drawn (the first series' blue and the heatmaps' range)
  if msg=$(/usr/bin/python3 - "$out/${r}_report.png" <<'EOF'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
w, h = im.size
px = list(im.getdata())
ink = sum(1 for p in px if p != (255, 255, 255)) / len(px)
colours = len(set(px))
blue = sum(1 for p in px if abs(p[0] - 0x2f) < 8 and abs(p[1] - 0x6f) < 8 and abs(p[2] - 0xb0) < 8)
ok = (w, h) == (800, 4000) and ink > 0.05 and colours > 50 and blue > 2000
print(f"{w}x{h}, {ink:.1%} ink, {colours} colours, {blue} bar pixels")
sys.exit(0 if ok else 1)
EOF
  ); then
    echo "ok - $r's report PNG: $msg"
  else
    fail "$r's report PNG looks wrong: $msg"
  fi
done

# CJK glyphs come from a font, not the missing-glyph box
for t in cjk:客户画像分群 latin:Customer.profile box:$(printf '\356\200\200\356\200\200\356\200\200\356\200\200\356\200\200\356\200\200'); do
  name=${t%%:*}
  printf '<!DOCTYPE html><html><head><meta charset="utf-8"/></head><body style="margin:0;font:40px sans-serif">%s</body></html>' "${t#*:}" > "$out/font_$name.html"
  render "$out/font_$name.html" "$out/font_$name.png" 80 || fail "chromium failed on the font page $name"
done
if msg=$(/usr/bin/python3 - "$out" <<'EOF'
import sys
from PIL import Image
d = sys.argv[1]
img = {n: Image.open(f"{d}/font_{n}.png").convert("L") for n in ("cjk", "latin", "box")}
def ink(im):
    return sum(1 for p in im.getdata() if p < 128)
def differ(a, b):
    return sum(1 for x, y in zip(a.getdata(), b.getdata()) if abs(x - y) > 64)
c = ink(img["cjk"])
ok = c > 500 and differ(img["cjk"], img["latin"]) > 500 and differ(img["cjk"], img["box"]) > 500
print(f"{c} dark pixels, {differ(img['cjk'], img['box'])} differ from missing-glyph boxes")
sys.exit(0 if ok else 1)
EOF
); then
  echo "ok - Chinese text renders with a CJK font ($msg; $(fc-list ':lang=zh' family | head -1))"
else
  fail "Chinese text does not render with a CJK font: $msg"
fi
dropdb "$db"
exit $status
