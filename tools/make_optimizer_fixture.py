#!/usr/bin/python3
"""AdamW + global-norm clipping oracle for dev.jseek.train.AdamWTest (docs/architecture.md §7.1), from PyTorch in float64.

Two parameter groups like the trainer's: a 2-D weight with weight decay 0.1 and a 1-D norm weight without; betas
(0.9, 0.95), eps 1e-8. Each step: gradients given, torch.nn.utils.clip_grad_norm_(max_norm=1.0) over both tensors
(the pre-clip norm is recorded), then torch.optim.AdamW.step() with that step's lr. Deterministic (seed 1234).

    /usr/bin/python3 tools/make_optimizer_fixture.py --out src/test/resources/train/adamw_torch.json
"""
import argparse, json
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
args = ap.parse_args()

g = torch.Generator().manual_seed(1234)
to32 = lambda t: t.float().double()  # values exactly representable in float32
w = torch.nn.Parameter(to32(torch.randn(3, 4, generator=g, dtype=torch.float64) * 0.5))
n = torch.nn.Parameter(to32(1 + 0.1 * torch.randn(4, generator=g, dtype=torch.float64)))
init = {"w": w.detach().flatten().tolist(), "n": n.detach().flatten().tolist()}
opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [n], "weight_decay": 0.0}],
                        lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
steps = []
lrs = [1e-3, 2e-3, 3e-3, 3e-3, 1.5e-3, 5e-4]
scales = [0.1, 3.0, 0.2, 10.0, 0.05, 1.0]  # some steps clip (norm > 1), some do not
for k, (lr, sc) in enumerate(zip(lrs, scales)):
    gw = to32(torch.randn(3, 4, generator=g, dtype=torch.float64) * sc)
    gn = to32(torch.randn(4, generator=g, dtype=torch.float64) * sc)
    w.grad = gw.clone()
    n.grad = gn.clone()
    norm = torch.nn.utils.clip_grad_norm_([w, n], max_norm=1.0).item()
    for group in opt.param_groups:
        group["lr"] = lr
    opt.step()
    steps.append({"lr": lr, "grad_w": gw.flatten().tolist(), "grad_n": gn.flatten().tolist(), "pre_clip_norm": norm,
                  "w": w.detach().flatten().tolist(), "n": n.detach().flatten().tolist()})
doc = {"source": "torch " + torch.__version__ + " AdamW float64, clip_grad_norm_(1.0)", "beta1": 0.9, "beta2": 0.95,
       "eps": 1e-8, "weight_decay": 0.1, "max_norm": 1.0, "init": init, "steps": steps}
with open(args.out, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
