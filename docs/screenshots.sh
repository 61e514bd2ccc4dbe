#!/usr/bin/env bash
# Regenerates docs/report-1280.png and docs/email-600.png from the shipped
# sample's report (make screenshots): the report page at 1280 px, and the
# email's HTML part, its cid: charts written beside it, at 600 px.
set -euo pipefail
cd "$(dirname "$0")/.."
report=reports/2027-01
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
shoot() { # width, page, png
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
        --user-data-dir="$work/profile" --window-size="$1,1100" --virtual-time-budget=3000 \
        --screenshot="$3" "file://$2" 2>/dev/null
}
shoot 1280 "$PWD/$report/report.html" "$PWD/docs/report-1280.png"
/usr/bin/python3 - "$report/email.eml" "$work" <<'PY'
import email, sys, os
from email import policy
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
html = None
for part in msg.walk():
    cid = part.get("Content-ID")
    if cid and part.get_content_type() == "image/png":
        name = cid.strip("<>")
        open(os.path.join(sys.argv[2], name + ".png"), "wb").write(part.get_payload(decode=True))
    elif part.get_content_type() == "text/html" and html is None:
        html = part.get_content()
for part in msg.walk():
    cid = part.get("Content-ID")
    if cid:
        name = cid.strip("<>")
        html = html.replace("cid:" + name, name + ".png")
open(os.path.join(sys.argv[2], "email.html"), "w").write(html)
PY
shoot 600 "$work/email.html" "$PWD/docs/email-600.png"
echo "docs/report-1280.png and docs/email-600.png from $report"
