#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Checks t38/udptl.c's wire format against tshark's T.38 dissector: udptl_pcap writes a pcap
# of encoder output (a redundancy stream wrapping 65533 -> 2, and a FEC stream) and prints the
# fields tshark must see; we compare sequence numbers, error-recovery kind, secondary and
# fec-data counts and fec-npackets, check that every secondary decodes as an IFP, and that
# nothing is malformed or flagged by an expert.
# Usage: tshark_udptl.sh [path/to/udptl_pcap]   (without it, udptl_pcap is built with cc)
# Exit: 0 pass, 1 fail, 77 skip (no tshark, or no compiler to build the helper).
set -eu

if ! command -v tshark >/dev/null 2>&1; then
  echo "SKIP: tshark not installed"
  exit 77
fi

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tshark_udptl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

helper=${1:-}
if [ -z "$helper" ]; then
  cc=${CC:-cc}
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "SKIP: no C compiler to build udptl_pcap"
    exit 77
  fi
  helper="$tmp/udptl_pcap"
  "$cc" -std=gnu11 -O1 -I "$top/t38" "$top/t38/udptl.c" "$here/udptl_pcap.c" -o "$helper"
fi

"$helper" "$tmp/udptl.pcap" > "$tmp/expect"

# spandsp sends post-corrigendum field types for T.38 version >= 1 (tshark defaults to the
# pre-corrigendum reading).
ts() {
  tshark -r "$tmp/udptl.pcap" -o t38.use_pre_corrigendum_asn1_specification:FALSE \
    -d udp.port==40000,t38 -d udp.port==40002,t38 "$@" 2>/dev/null
}

ts -T fields -E separator=/t -E occurrence=a -E aggregator=, \
  -e frame.protocols -e udp.dstport -e t38.seq_number -e t38.error_recovery \
  -e t38.secondary_ifp_packets -e t38.fec_data -e t38.fec_npackets -e t38.type_of_msg \
  -e _ws.malformed -e _ws.expert > "$tmp/fields"

fail=0
# "dstport seq error-recovery count npackets", as udptl_pcap prints them
awk -F '\t' -v bad="$tmp/bad" '
  {
    if ($1 !~ /:t38(:|$)/) print "frame " NR ": not dissected as T.38: " $1 > bad
    if ($9 != "" || $10 != "") print "frame " NR ": malformed or expert info: " $9 $10 > bad
    ifps = split($8, t, ",")
    if ($4 == 0) {
      if (ifps != 1 + $5) print "frame " NR ": " ifps " IFPs decoded, want 1 + " $5 > bad
      print $2, $3, $4, $5, "-"
    } else {
      if (ifps != 1) print "frame " NR ": " ifps " IFPs decoded in a FEC packet" > bad
      print $2, $3, $4, $6, $7
    }
  }' "$tmp/fields" > "$tmp/got"

if [ -s "$tmp/bad" ]; then
  cat "$tmp/bad"
  fail=1
fi
if ! diff -u "$tmp/expect" "$tmp/got"; then
  echo "FAIL: tshark sees other fields than the encoder wrote (- expected, + tshark)"
  fail=1
fi
if ts -V | grep -i -q 'malformed'; then
  ts -V | grep -i -B3 'malformed' | head -20
  echo "FAIL: tshark reports a malformed packet"
  fail=1
fi
frames=$(wc -l < "$tmp/expect")
if [ "$fail" -eq 0 ]; then
  echo "PASS: $frames UDPTL packets decoded by tshark as written"
fi
exit $fail
