#!/usr/bin/env bash
# Renders a run's report.html in headless Chromium and saves a PNG, to check by
# eye that the page draws (confusion matrix, bars, curves, hypnograms).
#
#   scripts/screenshot-report.sh RUN_DIR|REPORT.html OUT.png [WIDTH HEIGHT [SECTION]]
#
# Defaults: 1400 x 3000 pixels, from the top of the page. SECTION (setup, scores,
# selections, confusion, errors, folds, subjects, curves, hypnograms, config) shows only that section,
# to look at the parts further down a long page. Needs chromium (Debian: apt-get install chromium).
# Chromium runs with --no-sandbox (it refuses to start as root otherwise), with
# networking off: report.html must not need any.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 RUN_DIR|REPORT.html OUT.png [WIDTH HEIGHT [SECTION]]" >&2
  exit 2
fi
source=$1 out=$2 width=${3:-1400} height=${4:-3000} section=${5:-}
page=$source
[ -d "$source" ] && page=$source/report.html
[ -f "$page" ] || { echo "$0: $page: no such file, expected a report.html or a run directory holding one" >&2; exit 1; }

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "$0: chromium not found, expected it on PATH (Debian: apt-get install chromium)" >&2; exit 1; }

page=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
case $out in /*) ;; *) out=$PWD/$out ;; esac
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
if [ -n "$section" ]; then
  # A copy of the page that hides the header and every other section.
  grep -Eq "<section id=\"$section\"[ >]" "$page" || { echo "$0: $page has no section \"$section\"" >&2; exit 1; }
  hide="<style>header, main > section:not(#$section) { display: none; }</style>"
  awk -v hide="$hide" '{ print } /<\/style>/ && !done { print hide; done = 1 }' "$page" > "$profile/report.html"
  page=$profile/report.html
fi

# --proxy-server to a closed port: any network request the page makes fails.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$profile" --proxy-server=127.0.0.1:9 \
  --window-size="$width,$height" --screenshot="$out" "file://$page" 2>"$profile/chromium.log" \
  || { cat "$profile/chromium.log" >&2; exit 1; }
[ -s "$out" ] || { cat "$profile/chromium.log" >&2; echo "$0: no screenshot written" >&2; exit 1; }
echo "$out"
