#!/bin/sh
# Regenerates the committed seed corpus in seeds/ (see README.md, "Seeds"). Run from fuzz/.
# Needs python3; uses genisoimage and xorriso when installed.
#
# Images are stripped of trailing zero bytes (mostly empty padding sectors) to keep them small;
# the system area (sectors 0-15) stays, so every image seed is at least 32 KiB.
set -eu
cd "$(dirname "$0")"
out=seeds/parse_image
mkdir -p "$out" seeds/decode_records seeds/build_ops seeds/seek_schedule
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
mkdir -p "$src/tree/sub/deeper" "$src/tree/Ünïcødé"
printf 'hello\n' > "$src/tree/a.txt"
printf 'second file\n' > "$src/tree/sub/b.txt"
: > "$src/tree/sub/deeper/empty"
printf 'x' > "$src/tree/Ünïcødé/文件.txt"
head -c 5000 /dev/zero | tr '\0' 'z' > "$src/tree/sub/five_thousand.bin"
# Fixed times, so the seeds are the same on every run (up to the tools' own timestamps).
find "$src/tree" -exec touch -d '2024-02-29 12:00:00 UTC' {} +
if command -v genisoimage >/dev/null; then
    genisoimage -quiet -no-pad -o "$out/genisoimage-plain.iso" "$src/tree"
    genisoimage -quiet -no-pad -J -o "$out/genisoimage-joliet.iso" "$src/tree"
    genisoimage -quiet -no-pad -J -iso-level 4 -o "$out/genisoimage-1999.iso" "$src/tree"
    genisoimage -quiet -no-pad -J -hidden a.txt -o "$out/genisoimage-hidden.iso" "$src/tree"
    genisoimage -quiet -no-pad -r -J -o "$out/genisoimage-rockridge.iso" "$src/tree"
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
    xorriso -as mkisofs -quiet -no-pad -r -J -o "$out/xorriso-rockridge.iso" "$src/tree"
fi
# glassmaster's own images and the hand-built ones (multi-extent, interleaved, extended
# attribute record, directory loop) from the reader's tests (tests/read/).
GLASSMASTER_FUZZ_SEEDS="$PWD/$out" cargo test --quiet --manifest-path ../Cargo.toml --all-features --test read \
    fuzz_seeds >/dev/null
python3 - "$out" <<'PY'
import os, struct, sys
out = sys.argv[1]
S = 2048
for name in sorted(os.listdir(out)):
    p = os.path.join(out, name)
    data = open(p, 'rb').read()
    stripped = data.rstrip(b'\0')
    open(p, 'wb').write(stripped)

# decode_records seeds: the first byte selects the decoder (0 directory record, 1 path table
# L, 0x11 path table M, 2 volume descriptor, 3 every offset); the rest is real bytes.
dst = 'seeds/decode_records'
src = os.path.join(out, 'genisoimage-rockridge.iso')
if not os.path.exists(src):
    src = os.path.join(out, 'glassmaster-level3-joliet.iso')
img = open(src, 'rb').read()
img += b'\0' * (-len(img) % S)
def sector(n): return img[n*S:(n+1)*S]
pvd = sector(16)
root_lba = struct.unpack('<I', pvd[158:162])[0]
pt_size = struct.unpack('<I', pvd[132:136])[0]
pt_l = struct.unpack('<I', pvd[140:144])[0]
pt_m = struct.unpack('>I', pvd[148:152])[0]
root = sector(root_lba)
seeds = {
    'pvd': b'\x02' + pvd,
    'svd': b'\x02' + sector(17),
    'terminator': b'\x02' + sector(18),
    'root-record': b'\x00' + pvd[156:190],
    'dot-record': b'\x00' + root[:root[0]],
    'rr-record': b'\x00' + root[root[0]:root[0] + root[root[0]]],
    'dir-sector': b'\x03' + root[:512],
    'path-table-l': b'\x01' + img[pt_l*S:pt_l*S + pt_size],
    'path-table-m': b'\x11' + img[pt_m*S:pt_m*S + pt_size],
}
for k, v in seeds.items():
    open(os.path.join(dst, k), 'wb').write(v)
PY
# build_ops and seek_schedule take structured (arbitrary) input; a few byte patterns start them.
python3 - <<'PY'
import random
r = random.Random(1)
for target in ('build_ops', 'seek_schedule'):
    for i in range(4):
        n = 64 << i
        open(f'seeds/{target}/random-{i}', 'wb').write(bytes(r.randrange(256) for _ in range(n)))
PY
du -sh seeds; ls -l seeds/*
