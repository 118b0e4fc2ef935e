#!/usr/bin/env python3
"""compare.py — runs every training benchmark on Volt and on PyTorch, interleaved (A B A B), and
prints one table: job, Volt, PyTorch, ratio (Volt / PyTorch, oriented so that > 1 means Volt is
better). bench/compare.sh creates the peer's virtual environment and calls this; it also writes the
table to bench/RESULTS.md with the date, the machine and the versions.

    python3 bench/compare.py --volt build/volt --peer-python build/bench-venv/bin/python
           [--rounds 2] [--quick] [--results bench/RESULTS.md]

Each job is one process per side and round (so peak RSS is the job's own). A job's value is the
median of its rounds, and the table also gives the range of the per-round ratios (each round runs
Volt and then the peer back to back, so a round's ratio sees one machine state: on a shared VM
the same job moves by ±20 % between minutes). Start-up and peak RSS take the minimum. Only the
standard library is used.
"""
import argparse
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULT = re.compile(r"^RESULT name=(\S+) value=(\S+) unit=(\S+)", re.M)


def run(cmd, env=None):
    """Runs cmd; returns (stdout, wall seconds, peak RSS in MiB of the child)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT,
                         env=env, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.stderr.write(f"command failed ({p.returncode}): {' '.join(cmd)}\n{out}\n")
        raise SystemExit(1)
    return out, wall, ru.ru_maxrss / 1024.0


def results(out):
    return {m.group(1): float(m.group(2)) for m in RESULT.finditer(out)}


def median(vals):
    """Median of the values that are not None (None when there are none)."""
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


class Table:
    def __init__(self):
        self.rows = []  # (job, volt, peer, unit, higher_is_better, target, (lo, hi) or None)

    def add(self, job, volt, peer, unit, higher=True, target=None):
        """volt and peer: one number each, or the per-round lists of an interleaved job (the row
        then shows their medians and the range of the per-round ratios)."""
        rng = None
        if isinstance(volt, list) and isinstance(peer, list):
            rs = [(v / p if higher else p / v) for v, p in zip(volt, peer) if v and p]
            rng = (min(rs), max(rs)) if rs else None
        if isinstance(volt, list):
            volt = median(volt)
        if isinstance(peer, list):
            peer = median(peer)
        self.rows.append((job, volt, peer, unit, higher, target, rng))

    def render(self):
        lines = ["| job | Volt | PyTorch | unit | ratio | per-round ratios | target |",
                 "|---|---|---|---|---|---|---|"]
        for job, v, p, unit, higher, target, rng in self.rows:
            if v is None or p is None:
                ratio = "—"
            else:
                r = (v / p) if higher else (p / v)
                ratio = f"{r:.2f}×"
            fv = "—" if v is None else f"{v:.4g}"
            fp = "—" if p is None else f"{p:.4g}"
            fr = f"{rng[0]:.2f}–{rng[1]:.2f}" if rng else ""
            lines.append(f"| {job} | {fv} | {fp} | {unit} | {ratio} | {fr} | {target or ''} |")
        return "\n".join(lines)


def best(vals, higher):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return max(vals) if higher else min(vals)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--volt", default=os.path.join(ROOT, "build", "volt"))
    ap.add_argument("--peer-python", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="fewer blocks (a smoke run)")
    ap.add_argument("--results", default=None)
    a = ap.parse_args()
    T = a.threads
    # quick runs: fewer blocks, and 2 warm-up steps except for the mlp jobs, which keep their 20
    # (~80 ms): a process's first ~80 ms run slow, and 2 steps read the mlp 25 % low
    mblk = ["--blocks", "2", "--steps", "3"] if a.quick else []
    blk = mblk + ["--warmup", "2"] if a.quick else []
    env_volt = dict(os.environ, OMP_NUM_THREADS=str(T))

    # the peer's best thread setting: with and without OMP_WAIT_POLICY=PASSIVE (mlp sgd decides)
    peer_env = None
    best_v = -1
    for policy in (None, "PASSIVE"):
        env = dict(os.environ)
        env.pop("OMP_WAIT_POLICY", None)
        if policy:
            env["OMP_WAIT_POLICY"] = policy
        out, _, _ = run([a.peer_python, "bench/peer_torch.py", "mlp", "--opt", "sgd", "--threads",
                         str(T)] + mblk, env)
        v = list(results(out).values())[0]
        print(f"# peer thread setting OMP_WAIT_POLICY={policy or 'unset'}: mlp sgd {v:.4g} samples/s")
        if v > best_v:
            best_v, peer_env = v, env
    policy = peer_env.get("OMP_WAIT_POLICY", "unset")

    def pair(volt_cmd, peer_cmd, venv=None):
        """Runs both sides a.rounds times interleaved; returns lists of (results, wall, rss)."""
        vs, ps = [], []
        for _ in range(a.rounds):
            o, w, r = run([a.volt] + volt_cmd, venv or env_volt)
            vs.append((results(o), w, r))
            o, w, r = run([a.peer_python] + peer_cmd, peer_env)
            ps.append((results(o), w, r))
        return vs, ps

    def val(side, key):
        return [rs.get(key) for rs, _, _ in side]

    tab = Table()
    # 1-3: training throughput; 6: mlp peak RSS
    for opt in ("sgd", "adam"):
        vs, ps = pair(["bench/mlp.lua", "--opt", opt, "--threads", str(T)] + mblk,
                      ["bench/peer_torch.py", "mlp", "--opt", opt, "--threads", str(T)] + mblk)
        k = f"mlp_{opt}_b128_t{T}"
        tab.add(f"mlp {opt} (b128)", val(vs, k), val(ps, k), "samples/s",
                True, "≥ 1.3×")
        if opt == "sgd":
            tab.add("mlp peak RSS", best([r for _, _, r in vs], False),
                    best([r for _, _, r in ps], False), "MiB", False, "≥ 3× (⅓ the RSS)")
    # the floor under the mlp step: its eight matrix products timed alone on each side; "bound" is
    # the ratio Volt would reach against the peer's measured step if nothing but them cost time
    gblk = ["--blocks", "3", "--steps", "5", "--warmup", "3"] if a.quick else []
    vs, ps = pair(["bench/mlp_gemm.lua", "--threads", str(T)] + gblk,
                  ["bench/peer_torch.py", "mlp_gemm", "--threads", str(T), "--steps", "20",
                   "--blocks", "15", "--warmup", "20"] + gblk)
    k = f"mlp_gemm_total_t{T}"
    g_v, g_p = median(val(vs, k)), median(val(ps, k))
    tab.add("mlp step's 8 GEMMs alone (floor)", g_v, g_p, "µs", False)
    sgd_peer = tab.rows[0][2]
    if g_v and sgd_peer:
        tab.add("mlp sgd bound: peer step / Volt GEMM floor", 128 / sgd_peer * 1e6 / g_v, None, "×",
                True, "must be ≥ 1.3 for the mlp target")
    vs, ps = pair(["bench/cnn.lua", "--threads", str(T)] + blk,
                  ["bench/peer_torch.py", "cnn", "--threads", str(T)] + blk)
    k = f"cnn_b64_t{T}"
    tab.add("cnn (b64)", val(vs, k), val(ps, k), "samples/s", True, "≥ 1.0×")
    vs, ps = pair(["bench/gpt.lua", "--threads", str(T)] + blk,
                  ["bench/peer_torch.py", "gpt", "--threads", str(T)] + blk)
    k = f"gpt_t{T}"
    tab.add("gpt", val(vs, k), val(ps, k), "tokens/s", True, "≥ 1.3×")
    # where the gpt step's time goes besides its linear layers: each layer's forward + backward
    lblk = (["--blocks", "3", "--steps", "3", "--warmup", "1"] if a.quick
            else ["--steps", "10", "--blocks", "9", "--warmup", "3"])
    vs, ps = pair(["bench/gpt_layers.lua", "--threads", str(T)] + lblk,
                  ["bench/peer_torch.py", "gpt_layers", "--threads", str(T)] + lblk)
    for name in ("attention", "layernorm", "gelu"):
        k = f"gpt_layer_{name}_t{T}"
        tab.add(f"gpt layer fwd+bwd: {name}", val(vs, k), val(ps, k), "µs", False)
    # 4: overhead
    vs, ps = pair(["bench/overhead.lua"], ["bench/peer_torch.py", "overhead", "--threads", str(T)])
    tab.add("tiny op a + b", val(vs, "overhead_add"),
            val(ps, "overhead_add"), "ns/op", False, "≥ 4×")
    tab.add("tiny autograd step", val(vs, "overhead_autograd_step"),
            val(ps, "overhead_autograd_step"), "ns/step", False, "≥ 5×")
    # 5: start-up (wall, peak RSS), 10 runs each, min
    def startup(cmd, env):
        ws, rs = [], []
        for _ in range(10):
            _, w, r = run(cmd, env)
            ws.append(w)
            rs.append(r)
        return min(ws) * 1000, min(rs)

    w0, r0 = startup([a.volt, "-e", ""], env_volt)
    w1, r1 = startup([a.volt, "-e", "require 'volt'"], env_volt)
    wp, rp = startup([a.peer_python, "-c", "import torch"], peer_env)
    tab.add("start-up `volt -e ''` vs `import torch`", w0, wp, "ms", False)
    tab.add("start-up `require 'volt'` vs `import torch`", w1, wp, "ms", False, "≥ 40× and ≤ 30 ms")
    tab.add("start-up peak RSS (`require 'volt'`)", r1, rp, "MiB", False)
    # 7: scaling — mlp sgd over batch sizes and threads
    for b in (32, 128, 512, 2048):
        vs, ps = pair(["bench/mlp.lua", "--opt", "sgd", "--batch", str(b), "--threads", str(T)] + mblk,
                      ["bench/peer_torch.py", "mlp", "--opt", "sgd", "--batch", str(b), "--threads",
                       str(T)] + mblk)
        k = f"mlp_sgd_b{b}_t{T}"
        tab.add(f"scaling: mlp sgd b{b}", val(vs, k), val(ps, k),
                "samples/s", True)
    # 1 vs 2 threads, both in every round (1 then 2, each side), so a round's 2/1 ratio sees one
    # machine state; the row gives the median of those per-round ratios
    runs = {(side, t): [] for side in ("volt", "peer") for t in (1, 2)}
    for _ in range(a.rounds):
        for t in (1, 2):
            o, _, _ = run([a.volt, "bench/mlp.lua", "--opt", "sgd", "--threads", str(t)] + mblk,
                          dict(env_volt, OMP_NUM_THREADS=str(t)))
            runs[("volt", t)].append(results(o).get(f"mlp_sgd_b128_t{t}"))
            o, _, _ = run([a.peer_python, "bench/peer_torch.py", "mlp", "--opt", "sgd", "--threads",
                           str(t)] + mblk, peer_env)
            runs[("peer", t)].append(results(o).get(f"mlp_sgd_b128_t{t}"))
    for t in (1, 2):
        tab.add(f"scaling: mlp sgd b128, {t} thread(s)", runs[("volt", t)], runs[("peer", t)],
                "samples/s", True)

    def speedup(side):
        return median([b / a_ for a_, b in zip(runs[(side, 1)], runs[(side, 2)]) if a_ and b])

    tab.add("scaling: 2 threads / 1 thread (median of per-round ratios)", speedup("volt"),
            speedup("peer"), "×", True, "Volt ≥ 1.7")
    # 8: gemm against OpenBLAS directly (no peer)
    o, _, _ = run([a.volt, "bench/gemm.lua", "512", "1024", "2048"], env_volt)
    g = results(o)
    for n in (512, 1024, 2048):
        tab.add(f"gemm n={n} (peer: cblas_sgemm)", g.get(f"gemm_volt_n{n}"),
                g.get(f"gemm_openblas_n{n}"), "GFLOP/s", True, "≥ 0.95×")

    peer_ver = subprocess.run([a.peer_python, "-c", "import torch; print(torch.__version__)"],
                              capture_output=True, text=True).stdout.strip()
    volt_ver = subprocess.run([a.volt, "-e", "print(require('volt').build_info())"],
                              capture_output=True, text=True, cwd=ROOT).stdout.strip()
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except Exception:
        pass
    head = (f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}  \n"
            f"Machine: {platform.node()}, {cpu}, {os.cpu_count()} CPUs, {platform.platform()}  \n"
            f"Volt: {volt_ver}  \nPyTorch: {peer_ver} (CPU, {T} threads, OMP_WAIT_POLICY={policy})  \n"
            f"Protocol: {a.rounds} interleaved rounds per job (Volt, PyTorch, Volt, ...), median of the "
            f"rounds; each round = warm-up + median of timed blocks{' (QUICK smoke run: few blocks)' if a.quick else ''}.\n")
    table = tab.render()
    print(head)
    print(table)
    if a.results:
        with open(a.results, "w") as f:
            f.write("# Benchmark results: Volt vs PyTorch (written by bench/compare.sh)\n\n")
            f.write(head + "\n" + table + "\n\nRatio: Volt / PyTorch for throughput, PyTorch / Volt "
                    "for times and memory (> 1 means Volt is better).\n")


if __name__ == "__main__":
    main()
