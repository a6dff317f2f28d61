#!/usr/bin/env python3
"""Parameter counts of HF DeepSeek-family config.json files from the PyTorch reference model's parameter list.

    /usr/bin/python3 tools/count_params.py src/test/resources/family/*.json --out src/test/resources/family/counts.json

The shapes are make_parity_fixtures.param_shapes(cfg): every tensor the float64 reference forward reads (and, for the
parity cases, exactly the tensors it draws). Per config, in the definitions of `jseek inspect`:
  total  = elements of the main model (embedding, layers, final norm, head; no MTP layers),
  active = total minus the routed experts a token does not use (num_experts_per_tok of n_routed_experts per MoE layer),
  mtp    = elements of the MTP layers (without the copies of the embedding and head the release stores).
InspectCommandTest compares jseek's counts with these. Deterministic; see tools/README.md.
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parity_fixtures import param_shapes, write_json  # noqa: E402

EXPERT = re.compile(r"model\.layers\.\d+\.mlp\.experts\.(\d+)\.")


def counts(cfg):
    total = active = mtp = 0
    L, K = cfg["num_hidden_layers"], cfg["num_experts_per_tok"]
    for name, shape in param_shapes(cfg).items():
        n = 1
        for x in shape:
            n *= x
        layer = re.match(r"model\.layers\.(\d+)\.", name)
        if layer and int(layer.group(1)) >= L:
            mtp += n
            continue
        total += n
        e = EXPERT.match(name)
        if e is None or int(e.group(1)) < K:
            active += n
    return {"total": total, "active": active, "mtp": mtp}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("configs", nargs="+")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = {}
    for path in sorted(args.configs):
        if os.path.basename(path) == os.path.basename(args.out):
            continue
        with open(path) as f:
            cfg = json.load(f)
        c = counts(cfg)
        out[os.path.basename(path)] = c
        print("%-24s total %18s  active %16s  mtp %15s" % (os.path.basename(path), "{:,}".format(c["total"]),
                                                          "{:,}".format(c["active"]), "{:,}".format(c["mtp"])))
    write_json(args.out, out)


if __name__ == "__main__":
    sys.exit(main())
