#!/usr/bin/env python3
"""ckpt_peer.py — the peer of bench/ckpt.lua: times Python's safetensors saving and loading the
same state dict layout, in the same run, on the same machine and folder.

  python3 bench/ckpt_peer.py <path> <reps> <name>:<rows>x<cols> ...

Uses safetensors.torch (save_file / load_file) when torch is importable, else
safetensors.numpy; the first output line says which. Prints one line per measurement:
  PEER <what> <seconds (median)>
what: save (save_file as the library does it: no fsync), save_fsync (save_file, then fsync of
the file and its folder: the durability Volt's save gives), load (load_file: every tensor
materialised in memory).
"""
import os
import statistics
import sys
import time

path, reps = sys.argv[1], int(sys.argv[2])
layout = []
for spec in sys.argv[3:]:
    name, shape = spec.split(":")
    layout.append((name, tuple(int(x) for x in shape.split("x"))))

try:
    import torch
    from safetensors.torch import load_file, save_file
    backend = "safetensors.torch (torch %s)" % torch.__version__
    g = torch.Generator().manual_seed(0)
    tensors = {n: torch.randn(s, generator=g, dtype=torch.float32) for n, s in layout}
except ImportError:
    import numpy as np
    from safetensors.numpy import load_file, save_file
    backend = "safetensors.numpy (torch not installed)"
    rng = np.random.default_rng(0)
    tensors = {n: rng.standard_normal(s, dtype=np.float32) for n, s in layout}
print("PEER backend", backend, flush=True)


def fsync_path(p):
    fd = os.open(p, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    fd = os.open(os.path.dirname(os.path.abspath(p)), os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def timed1(fn):
    os.sync()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# one untimed warm-up write, then the two save modes alternate (drift of the disk hits both)
save_file(tensors, path)
ts = {"save": [], "save_fsync": []}
for _ in range(reps):
    ts["save"].append(timed1(lambda: save_file(tensors, path)))
    ts["save_fsync"].append(timed1(lambda: (save_file(tensors, path), fsync_path(path))))
print("PEER save %.4f" % statistics.median(ts["save"]), flush=True)
print("PEER save_fsync %.4f" % statistics.median(ts["save_fsync"]), flush=True)
loaded = {}


def load():
    loaded.update(load_file(path))


tl = []
for _ in range(reps):
    loaded.clear()  # the previous result is released before the clock starts (both sides)
    tl.append(timed1(load))
print("PEER load %.4f" % statistics.median(tl), flush=True)
first = layout[0][0]
assert loaded[first].shape == tensors[first].shape
os.remove(path)
