#!/usr/bin/env bash
# Wall time of the three distribution command lines of issue 20 (tests/distro_lines.rs), built
# by glassmaster and by xorriso from the same command line: (a) the Debian-live line run as
# `xorriso -as mkisofs`, (b) the lorax line run as `xorrisofs`, (c) grub-mkrescue with
# `--xorriso=`. Only the image build is timed (GNU time around the program grub-mkrescue calls
# for (c), so grub-mkrescue's own work is left out); the median of N alternating runs (the
# order of the two programs swaps every round) with user and system CPU time.
#
# The tree is a live-image-like one: ISOLINUX, the kernel, a 200 MB incompressible
# "filesystem.squashfs", a copy of /usr/share/doc (thousands of small files), and the FAT EFI
# system partition image with GRUB (appended as partition 2 by (a) and (b)).
#
#   benches/distro_lines.sh [--runs N] [--data DIR] [--glassmaster PATH] [--no-partition-offset]
#
# --no-partition-offset leaves `-partition_offset 16` out of (a) and (b), for both programs.
#
# Needs xorriso, grub-mkrescue, grub-mkimage, grub-mkstandalone, mtools, dosfstools, isolinux,
# syslinux-common, GNU time, python3; builds target/release/glassmaster unless --glassmaster.
set -euo pipefail

runs=5
data="${TMPDIR:-/tmp}/glassmaster-distro-bench"
gm=""
no_offset=0
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --data) data="$2"; shift 2 ;;
        --glassmaster) gm="$2"; shift 2 ;;
        --no-partition-offset) no_offset=1; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
repo="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "$gm" ]; then
    (cd "$repo" && cargo build --release --quiet --bin glassmaster)
    gm="${CARGO_TARGET_DIR:-$repo/target}/release/glassmaster"
fi
gm="$(readlink -f "$gm")"
real_xorriso="$(command -v xorriso)"
for t in grub-mkrescue grub-mkimage grub-mkstandalone mkfs.vfat mmd mcopy python3; do
    command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "missing: GNU time (/usr/bin/time)" >&2; exit 1; }

mkdir -p "$data"
cd "$data"
tree="$data/binary"
if [ ! -f "$data/ready" ]; then
    echo "== making the tree in $data (once)"
    rm -rf "$tree" "$data/efiboot.img" "$data/images"
    mkdir -p "$tree/isolinux" "$tree/live" "$tree/boot/grub" "$data/images"
    cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$tree/isolinux/"
    printf 'DEFAULT linux\nLABEL linux\n  KERNEL /live/vmlinuz\n  APPEND initrd=/live/initrd.img\n' \
        > "$tree/isolinux/isolinux.cfg"
    kernel="${GLASSMASTER_KERNEL:-/var/cache/glassmaster/vmlinuz}"
    if [ -f "$kernel" ]; then cp "$kernel" "$tree/live/vmlinuz"; else head -c 8M /dev/urandom > "$tree/live/vmlinuz"; fi
    head -c 40M /dev/urandom > "$tree/live/initrd.img"
    head -c 200M /dev/urandom > "$tree/live/filesystem.squashfs"
    cp -a /usr/share/doc "$tree/doc"
    printf 'linux /live/vmlinuz\ninitrd /live/initrd.img\nboot\n' > "$tree/boot/grub/grub.cfg"
    printf 'search --file --set=root /live/vmlinuz\nconfigfile /boot/grub/grub.cfg\n' > "$data/grub-early.cfg"
    grub-mkstandalone -O x86_64-efi -o "$data/BOOTX64.EFI" --locales= --fonts= --themes= \
        "boot/grub/grub.cfg=$data/grub-early.cfg"
    mkfs.vfat -C "$data/efiboot.img" 8192 >/dev/null
    mmd -i "$data/efiboot.img" ::/EFI ::/EFI/BOOT
    mcopy -i "$data/efiboot.img" "$data/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
    grub-mkimage -O i386-pc-eltorito -p /boot/grub -o "$data/images/eltorito.img" \
        biosdisk iso9660 part_msdos part_gpt linux normal search configfile
    touch "$data/ready"
fi
mkdir -p "$data/bin"
ln -sf "$gm" "$data/bin/xorriso"
ln -sf "$gm" "$data/bin/xorrisofs"
echo "== glassmaster: $gm"
echo "== xorriso: $("$real_xorriso" -version 2>/dev/null | head -1)"
echo "== tree: $(du -sh "$tree" | cut -f1), $(find "$tree" | wc -l) entries"

line_a=(-iso-level 3 -full-iso9660-filenames -volid DEBIAN_LIVE -appid "Debian Live"
    -publisher "Debian Live project" -preparer "live-build"
    --mbr-force-bootable -partition_offset 16 -joliet -joliet-long -rational-rock
    -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin -eltorito-boot isolinux/isolinux.bin
    -no-emul-boot -boot-load-size 4 -boot-info-table --eltorito-catalog isolinux/boot.cat
    -eltorito-alt-boot -e --interval:appended_partition_2:all:: -no-emul-boot
    -isohybrid-gpt-basdat -append_partition 2 C12A7328-F81F-11D2-BA4B-00A0C93EC93B efiboot.img
    -output OUT binary)
line_b=(-R -J -V Fedora-x86_64 --grub2-mbr /usr/lib/grub/i386-pc/boot_hybrid.img
    -partition_offset 16 -appended_part_as_gpt
    -append_partition 2 C12A7328-F81F-11D2-BA4B-00A0C93EC93B efiboot.img
    -iso_mbr_part_type EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 -c boot.cat --boot-catalog-hide
    -b images/eltorito.img -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info
    -eltorito-alt-boot -e --interval:appended_partition_2:all:: -no-emul-boot -graft-points
    -o OUT images/eltorito.img=images/eltorito.img /=binary)

# The program grub-mkrescue runs: times the image build (the run with -o) into $TIMES.
cat > "$data/timed-xorriso" <<'EOF'
#!/bin/sh
case " $* " in
    *' -o '*) exec /usr/bin/time -a -o "$TIMES" -f '%e %U %S' "$TARGET" "$@" ;;
    *) exec "$TARGET" "$@" ;;
esac
EOF
chmod +x "$data/timed-xorriso"

times="$data/times.txt"
: > "$times"
# run LINE TOOL: one timed build, appended to $times as "LINE TOOL wall user sys".
run() {
    local line="$1" who="$2" out="$data/out-$1-$2.iso" t="$data/t.txt"
    rm -f "$out" "$t"
    local args=()
    case "$line" in
        a) for a in "${line_a[@]}"; do args+=("${a/#OUT/$out}"); done ;;
        b) for a in "${line_b[@]}"; do args+=("${a/#OUT/$out}"); done ;;
    esac
    if [ "$no_offset" = 1 ] && [ "$line" != c ]; then
        local kept=() skip=0
        for a in "${args[@]}"; do
            if [ "$skip" = 1 ]; then skip=0; continue; fi
            if [ "$a" = -partition_offset ]; then skip=1; continue; fi
            kept+=("$a")
        done
        args=("${kept[@]}")
    fi
    case "$line:$who" in
        a:glassmaster) /usr/bin/time -o "$t" -f '%e %U %S' "$data/bin/xorriso" -as mkisofs "${args[@]}" 2>/dev/null ;;
        b:glassmaster) /usr/bin/time -o "$t" -f '%e %U %S' "$data/bin/xorrisofs" "${args[@]}" 2>/dev/null ;;
        a:xorriso|b:xorriso) /usr/bin/time -o "$t" -f '%e %U %S' "$real_xorriso" -as mkisofs "${args[@]}" 2>/dev/null ;;
        c:*)
            local target="$real_xorriso"
            [ "$who" = glassmaster ] && target="$data/bin/xorriso"
            TIMES="$t" TARGET="$target" grub-mkrescue --xorriso="$data/timed-xorriso" \
                -o "$out" "$tree" >/dev/null 2>&1 ;;
    esac
    [ -s "$out" ] || { echo "no image from $line $who" >&2; exit 1; }
    echo "$line $who $(tail -1 "$t")" >> "$times"
    rm -f "$out"
    sync
}

echo "== one untimed run of each (warm cache), then $runs rounds"
for line in a b c; do
    run "$line" glassmaster; run "$line" xorriso
done
: > "$times"
for round in $(seq 1 "$runs"); do
    for line in a b c; do
        if [ $((round % 2)) = 1 ]; then
            run "$line" glassmaster; run "$line" xorriso
        else
            run "$line" xorriso; run "$line" glassmaster
        fi
    done
    echo "   round $round done"
done
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
python3 - "$times" "$runs" <<'EOF'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
names = {"a": "(a) Debian live, xorriso -as mkisofs", "b": "(b) lorax, xorrisofs",
         "c": "(c) grub-mkrescue --xorriso="}
print(f"| line | program | wall s (median of {sys.argv[2]}) | user s | sys s | wall min-max |")
print("|---|---|---|---|---|---|")
for line in "abc":
    for who in ("glassmaster", "xorriso"):
        r = [tuple(map(float, x[2:5])) for x in rows if x[0] == line and x[1] == who]
        if not r:
            continue
        w = [x[0] for x in r]
        m = statistics.median(w)
        u = statistics.median(x[1] for x in r)
        s = statistics.median(x[2] for x in r)
        print(f"| {names[line]} | {who} | {m:.2f} | {u:.2f} | {s:.2f} | {min(w):.2f}-{max(w):.2f} |")
EOF
