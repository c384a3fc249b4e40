#!/usr/bin/env bash
# Re-render the README's sheet images from workbooks/minimax.xlsx and workbooks/peers.xlsx: `unitecon render` prints every sheet to
# PDF through LibreOffice, then pdftoppm crops the top of each sheet's first page.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
unitecon render workbooks/minimax.xlsx --out "$out" > /dev/null
crop() {  # sheet, then x y width height in pixels at 150 dpi (an A4 landscape page is 1754 x 1240)
    pdftoppm -png -r 150 -f 1 -l 1 -singlefile -x "$2" -y "$3" -W "$4" -H "$5" "$out/$1.pdf" "docs/img/$1"
}
crop summary 95 60 1600 860
crop inputs 95 60 1600 600
crop calculations 95 60 1600 820
crop checks 95 60 1600 600
crop customers 95 60 1600 560
crop sensitivity 95 80 1600 760
# the peers workbook: the comparison on its Summary, and one company's workings sheet
unitecon render workbooks/peers.xlsx --out "$out/peers" > /dev/null
pdftoppm -png -r 150 -f 1 -l 1 -singlefile -x 95 -y 60 -W 1600 -H 980 "$out/peers/summary.pdf" docs/img/peers_summary
pdftoppm -png -r 150 -f 1 -l 1 -singlefile -x 95 -y 60 -W 1600 -H 560 "$out/peers/openai.pdf" docs/img/peers_openai
