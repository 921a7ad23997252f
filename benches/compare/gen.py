#!/usr/bin/env python3
"""Deterministic workload trees for benches/compare (python3 stdlib only).

Every tree is a pure function of its spec (and GEN_VERSION): file names, sizes and contents
come from random.Random seeded with fixed numbers, so two machines generate the same bytes.
A tree is reused when its stamp file (`.glassmaster-bench-stamp`, beside the tree, holding the
spec as JSON) matches; otherwise it is deleted and generated again.

Kinds:
  small  -- `files` files of `min_size`..`max_size` bytes (uniform), spread evenly over `dirs`
            leaf directories grouped under parents of 50; a fraction `empty` of the files is
            empty. W1 and W2 and the file-count scaling trees.
  big    -- `count` files of `size` bytes each, incompressible pseudo-random bytes (W3, W3b).
  sparse -- one sparse file of `size` bytes made with truncate(2) (data scaling curves): it
            reads as zeros and takes no disk space.
  names  -- `count` empty files in one directory, every name `prefix` + a 5-digit number +
            `.txt` (W4: a long shared prefix, so every ISO 9660 level shortens all of them to
            one base name and each needs a numbered suffix; naming cost, not data).

Except for `names`, file names are 8.3-compatible (`f0001234.dat`, directories `d0001`), so no tool spends time
mangling ISO 9660 names; Joliet and Rock Ridge carry the same names.
"""

import json
import os
import random
import shutil
import sys
import time

GEN_VERSION = 1
STAMP = ".glassmaster-bench-stamp"
CHUNK = 4 << 20


def stamp_path(root):
    return os.path.join(os.path.dirname(root), os.path.basename(root) + STAMP)


def is_ready(root, spec):
    try:
        with open(stamp_path(root)) as f:
            return json.load(f) == dict(spec, gen_version=GEN_VERSION)
    except (OSError, ValueError):
        return False


def ensure(root, spec, log=print):
    """Makes sure `root` holds the tree described by `spec`; returns seconds spent (0 if reused)."""
    if is_ready(root, spec):
        return 0.0
    t0 = time.monotonic()
    if os.path.lexists(stamp_path(root)):
        os.remove(stamp_path(root))
    if os.path.lexists(root):
        log(f"  removing stale {root}")
        shutil.rmtree(root)
    os.makedirs(os.path.dirname(root) or ".", exist_ok=True)
    tmp = root + ".partial"
    if os.path.lexists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    kind = spec["kind"]
    if kind == "small":
        gen_small(tmp, spec, log)
    elif kind == "big":
        gen_big(tmp, spec, log)
    elif kind == "names":
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        for i in range(spec["count"]):
            os.close(os.open(os.path.join(tmp, f"{spec['prefix']}{i:05d}.txt"), flags, 0o644))
    elif kind == "sparse":
        with open(os.path.join(tmp, "zeros.bin"), "wb") as f:
            f.truncate(spec["size"])
    else:
        raise ValueError(f"unknown kind {kind!r}")
    os.rename(tmp, root)
    with open(stamp_path(root), "w") as f:
        json.dump(dict(spec, gen_version=GEN_VERSION), f, sort_keys=True)
    return time.monotonic() - t0


def leaf_dirs(n_dirs):
    """Relative paths of the leaf directories: d0000/d000000 .. grouped 50 per parent."""
    return [os.path.join(f"d{i // 50:04d}", f"d{i:06d}") for i in range(n_dirs)]


def gen_small(root, spec, log):
    rng = random.Random(spec["seed"])
    files, n_dirs = spec["files"], spec["dirs"]
    lo, hi, empty = spec["min_size"], spec["max_size"], spec.get("empty", 0.0)
    dirs = leaf_dirs(n_dirs)
    for d in dirs:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    per_dir = -(-files // n_dirs)
    last = time.monotonic()
    for i in range(files):
        d = dirs[i // per_dir] if i // per_dir < n_dirs else dirs[-1]
        path = os.path.join(root, d, f"f{i:07d}.dat")
        fd = os.open(path, flags, 0o644)
        try:
            if rng.random() >= empty:
                size = rng.randint(lo, hi)
                if size:
                    os.write(fd, rng.randbytes(size))
        finally:
            os.close(fd)
        if time.monotonic() - last > 10:
            last = time.monotonic()
            log(f"  {i + 1}/{files} files")


def gen_big(root, spec, log):
    for i in range(spec["count"]):
        rng = random.Random(spec["seed"] * 1000 + i)
        left = spec["size"]
        with open(os.path.join(root, f"big{i:02d}.bin"), "wb", buffering=0) as f:
            while left:
                n = min(CHUNK, left)
                f.write(rng.randbytes(n))
                left -= n
        log(f"  big file {i + 1}/{spec['count']} done")


if __name__ == "__main__":
    # gen.py ROOT 'JSON-SPEC': generate one tree (for trying the generator by hand).
    if len(sys.argv) != 3:
        sys.exit("usage: gen.py ROOT JSON-SPEC")
    print(f"{ensure(sys.argv[1], json.loads(sys.argv[2])):.1f} s")
