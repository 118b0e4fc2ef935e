#!/usr/bin/env python3
"""peer_torch.py — the PyTorch side of Volt's training benchmarks (the peer of bench/mlp.lua,
bench/cnn.lua, bench/gpt.lua and bench/overhead.lua). Same jobs, shapes, optimizer settings and
measurement protocol as the Lua scripts: synthetic data held in memory, warm-up steps first, then
the median of several timed blocks. Prints the same RESULT lines as the Volt side:

    RESULT name=<job> value=<number> unit=<unit>

Usage (from bench/compare.sh, or by hand with any python that has torch):
    python bench/peer_torch.py mlp --opt sgd|adam [--batch 128] [--threads 2]
    python bench/peer_torch.py cnn [--batch 64] [--threads 2]
    python bench/peer_torch.py gpt [--threads 2]
    python bench/peer_torch.py overhead [--threads 2]
    python bench/peer_torch.py mlp_gemm [--threads 2] [--steps 20 --blocks 15 --warmup 20]
    python bench/peer_torch.py gpt_layers [--threads 2] [--steps 10 --blocks 9 --warmup 3]
Never a runtime dependency of Volt: only the benchmarks use it.
"""
import argparse
import statistics
import time


def blocks(step, warmup, nblocks, per_block):
    """Runs step() warmup times, then nblocks blocks of per_block steps; returns the median
    seconds per step."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(nblocks):
        t0 = time.perf_counter()
        for _ in range(per_block):
            step()
        times.append((time.perf_counter() - t0) / per_block)
    return statistics.median(times)


def result(name, value, unit):
    print(f"RESULT name={name} value={value:.4g} unit={unit}", flush=True)


def classifier_step_time(torch, a, model, opt, x):
    """Median seconds per training step (forward, cross entropy over 10 random labels, backward,
    optimizer step) of model on the batch x."""
    y = torch.randint(0, 10, (x.shape[0],))
    lossf = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()

    return blocks(step, a.warmup, a.blocks, a.steps)


def job_mlp(torch, a):
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    if a.opt == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t = classifier_step_time(torch, a, model, opt, torch.randn(a.batch, 784))
    result(f"mlp_{a.opt}_b{a.batch}_t{a.threads}", a.batch / t, "samples/s")


def job_cnn(torch, a):
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1024, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    t = classifier_step_time(torch, a, model, opt, torch.randn(a.batch, 1, 28, 28))
    result(f"cnn_b{a.batch}_t{a.threads}", a.batch / t, "samples/s")


def job_gpt(torch, a):
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(0)
    V, L, H, E, T, B, M = 65, 4, 4, 128, 64, 32, 512

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(E), nn.LayerNorm(E)
            self.qkv, self.proj = nn.Linear(E, 3 * E), nn.Linear(E, E)
            self.fc, self.out = nn.Linear(E, M), nn.Linear(M, E)

        def forward(self, x):
            b, t, e = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(E, dim=2)
            q = q.view(b, t, H, e // H).transpose(1, 2)
            k = k.view(b, t, H, e // H).transpose(1, 2)
            v = v.view(b, t, H, e // H).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, e))
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(V, E), nn.Embedding(T, E)
            self.blocks = nn.Sequential(*[Block() for _ in range(L)])
            self.ln, self.head = nn.LayerNorm(E), nn.Linear(E, V)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            return self.head(self.ln(self.blocks(x)))

    model = GPT()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    idx = torch.randint(0, V, (B, T))
    tgt = torch.randint(0, V, (B, T))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(idx).view(B * T, V), tgt.view(B * T))
        loss.backward()
        opt.step()

    t = blocks(step, a.warmup, a.blocks, a.steps)
    result(f"gpt_t{a.threads}", B * T / t, "tokens/s")


def job_mlp_gemm(torch, a):
    """The eight products of one mlp step, each timed alone (the peer of bench/mlp_gemm.lua)."""
    M = 128
    prods = [("fwd1", "linear", M, 512, 784), ("fwd2", "linear", M, 512, 512),
             ("fwd3", "linear", M, 10, 512), ("dw3", "dw", 10, 512, M), ("dx2", "dx", M, 512, 10),
             ("dw2", "dw", 512, 512, M), ("dx1", "dx", M, 512, 512), ("dw1", "dw", 512, 784, M)]
    fs = []
    for name, kind, m, n, k in prods:
        if kind == "linear":
            x, w, b = torch.randn(m, k), torch.randn(n, k), torch.randn(n)
            f = lambda x=x, w=w, b=b: torch.nn.functional.linear(x, w, b)
        elif kind == "dx":
            g, w, y = torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)
            f = lambda g=g, w=w, y=y: torch.mm(g, w, out=y)
        else:
            g, x, y = torch.randn(k, m), torch.randn(k, n), torch.empty(m, n)
            f = lambda g=g.t(), x=x, y=y: torch.mm(g, x, out=y)
        fs.append((name, f))
    t0 = time.perf_counter()  # 0.5 s over all products first, as the Lua side
    while time.perf_counter() - t0 < 0.5:
        for _, f in fs:
            f()
    total = 0.0
    for name, f in fs:
        t = blocks(f, a.warmup, a.blocks, a.steps)
        total += t
        result(f"mlp_gemm_{name}_t{a.threads}", t * 1e6, "us")
    result(f"mlp_gemm_total_t{a.threads}", total * 1e6, "us")


def job_gpt_layers(torch, a):
    """The gpt step's non-linear layers, forward + backward each (the peer of bench/gpt_layers.lua)."""
    F = torch.nn.functional
    B, T, E, H, W = 32, 64, 128, 4, 512
    qkv = torch.randn(B, T, 3 * E, requires_grad=True)
    gy = torch.randn(B, T, E)
    ln = torch.nn.LayerNorm(E)
    x = torch.randn(B * T, E, requires_grad=True)
    h = torch.randn(B * T, W, requires_grad=True)
    gh = torch.randn(B * T, W)

    def attention():
        q, k, v = qkv.split(E, dim=2)
        q, k, v = (t.view(B, T, H, E // H).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y.transpose(1, 2).contiguous().view(B, T, E).backward(gy)
        qkv.grad = None

    def layernorm():
        ln(x).backward(gy.view(B * T, E))
        x.grad = ln.weight.grad = ln.bias.grad = None

    def gelu():
        F.gelu(h).backward(gh)
        h.grad = None

    for name, f in (("attention", attention), ("layernorm", layernorm), ("gelu", gelu)):
        t = blocks(f, a.warmup, a.blocks, a.steps)
        result(f"gpt_layer_{name}_t{a.threads}", t * 1e6, "us")


def job_overhead(torch, a):
    x, y = torch.ones(1), torch.ones(1)
    n = 200000

    def add():
        for _ in range(n):
            x + y

    t = blocks(add, 1, 5, 1)
    result("overhead_add", t / n * 1e9, "ns/op")
    w = torch.ones(1, requires_grad=True)
    m = 20000

    def ag():
        for _ in range(m):
            (w * x).sum().backward()

    t = blocks(ag, 1, 5, 1)
    result("overhead_autograd_step", t / m * 1e9, "ns/step")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("job", choices=["mlp", "cnn", "gpt", "overhead", "mlp_gemm", "gpt_layers"])
    p.add_argument("--opt", default="sgd", choices=["sgd", "adam"])
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=None)  # 20 for mlp (as bench/mlp.lua), else 5
    p.add_argument("--blocks", type=int, default=5)
    p.add_argument("--steps", type=int, default=10)
    a = p.parse_args()
    if a.warmup is None:
        a.warmup = 20 if a.job == "mlp" else 5
    if a.batch is None:
        a.batch = {"mlp": 128, "cnn": 64}.get(a.job, 32)
    import torch
    torch.set_num_threads(a.threads)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    {"mlp": job_mlp, "cnn": job_cnn, "gpt": job_gpt, "overhead": job_overhead,
     "mlp_gemm": job_mlp_gemm, "gpt_layers": job_gpt_layers}[a.job](torch, a)


if __name__ == "__main__":
    main()
