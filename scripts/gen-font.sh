#!/usr/bin/env bash
# Regenerates assets/fonts/NotoSerifCJKsc-Regular.otf: the Simplified Chinese face of Debian's
# fonts-noto-cjk (OFL-1.1), cut to what notices print (Latin, punctuation, CJK symbols, all CJK
# ideographs incl. Ext A–G so rare name characters such as 𠮷 print) and without the Hangul,
# vertical and other-locale glyphs (12 MB instead of the 26 MB collection).
# Needs: fonts-noto-cjk (apt) and fonttools (pip). Takes a few minutes.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TTC=/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc
[ -f "$TTC" ] || { echo "missing $TTC: apt-get install fonts-noto-cjk" >&2; exit 1; }
command -v pyftsubset >/dev/null || python3 -m pip install --quiet fonttools
UNICODES="U+0020-007E,U+00A0-024F,U+02B0-02FF,U+0370-03FF,U+2000-206F,U+20A0-20CF,U+2100-218F,\
U+2190-21FF,U+2200-22FF,U+2460-24FF,U+2500-257F,U+25A0-25FF,U+2600-26FF,U+3000-303F,U+3040-30FF,\
U+3200-33FF,U+3400-4DBF,U+4E00-9FFF,U+F900-FAFF,U+FE10-FE1F,U+FE30-FE4F,U+FF00-FFEF,U+20000-2FA1F,\
U+30000-3134F"
# Face 2 of the collection is SC.
pyftsubset "$TTC" --font-number=2 --unicodes="$UNICODES" \
  --layout-features='kern,palt,halt,ccmp' \
  --output-file="$ROOT/assets/fonts/NotoSerifCJKsc-Regular.otf"
