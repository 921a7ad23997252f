#!/bin/sh
# Writes small seed images for the parse_image target into corpus/parse_image/, using
# genisoimage, xorriso and mkudffs when installed. Run from the fuzz/ directory.
set -eu
out=corpus/parse_image
mkdir -p "$out"
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
mkdir -p "$src/tree/sub/deeper" "$src/tree/Ünïcødé"
printf 'hello\n' > "$src/tree/a.txt"
printf 'second file\n' > "$src/tree/sub/b.txt"
: > "$src/tree/sub/deeper/empty"
printf 'x' > "$src/tree/Ünïcødé/文件.txt"
head -c 5000 /dev/zero | tr '\0' 'z' > "$src/tree/sub/five_thousand.bin"
if command -v genisoimage >/dev/null; then
    genisoimage -quiet -no-pad -o "$out/genisoimage-plain.iso" "$src/tree"
    genisoimage -quiet -no-pad -J -o "$out/genisoimage-joliet.iso" "$src/tree"
    genisoimage -quiet -no-pad -J -iso-level 4 -o "$out/genisoimage-1999.iso" "$src/tree"
    genisoimage -quiet -no-pad -J -hidden a.txt -o "$out/genisoimage-hidden.iso" "$src/tree"
    genisoimage -quiet -no-pad -udf -J -o "$out/genisoimage-udf.iso" "$src/tree"
fi
# Empty UDF file systems (no ISO 9660) with physical partitions of UDF 1.02 and 2.01, as small
# as mkudffs makes them (a CD-RW's sparable partition needs 3 MiB: too large a seed).
mkudffs=$(command -v mkudffs || echo /usr/sbin/mkudffs)
if [ -x "$mkudffs" ]; then
    for args in "hd 1.02 600K" "hd 2.01 600K"; do
        set -- $args
        f="$out/mkudffs-$1-$2.udf"
        rm -f "$f"
        truncate -s "$3" "$f"
        "$mkudffs" --media-type="$1" --udfrev="$2" --blocksize=2048 "$f" >/dev/null
    done
fi
if command -v xorriso >/dev/null; then
    xorriso -as mkisofs -quiet -no-pad -o "$out/xorriso-plain.iso" "$src/tree"
    xorriso -as mkisofs -quiet -no-pad -J -o "$out/xorriso-joliet.iso" "$src/tree"
    xorriso -as mkisofs -quiet -no-pad -J -iso-level 3 -o "$out/xorriso-level3.iso" "$src/tree"
fi
ls -l "$out"
