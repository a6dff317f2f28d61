#!/usr/bin/env python3
"""Block-quantization fixtures for jseek's Q8_0 / Q4_K / Q5_K / Q6_K (src/test/resources/quant), from two references:

  * ggml itself for quantization: quantize_row_<type>_ref from libggml-base.so of the prebuilt llama.cpp that npm
    node-llama-cpp@3.21.1 ships (@node-llama-cpp/linux-x64), called through ctypes. That is the function
    llama-quantize runs without an importance matrix. (The library's reference quantizers are compiled for generic
    x86-64: no FMA contraction, plain IEEE float32, which Java reproduces.)
  * PyPI gguf (gguf.quants) for dequantization of every type, and for Q8_0 quantization too (checked here to equal
    ggml's bytes).

    pip install gguf numpy
    npm install --prefix /tmp/nlc node-llama-cpp@3.21.1
    python3 tools/make_quant_fixtures.py --ggml /tmp/nlc/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so \\
        --out src/test/resources/quant

Into <out>:
  input.f32        rows of 256 float32 values (one K-quant super-block, or 8 Q8_0 blocks, per row): Gaussian rows at
                   several scales, all zeros, tiny (1e-30, 1e-10) and huge (3e4) magnitudes, negative-only and
                   positive-only rows, a constant row, a single outlier, sub-blocks of very different magnitudes,
                   exact .5 ties, sparse rows, and 48 random rows (normal, Student-t, offset uniform, Laplace) at
                   log-uniform scales 1e-6 .. 1e3
and per type T (q8_0, q4_k, q5_k, q6_k):
  T_blocks.bin     ggml's reference quantization of input.f32
  T_decoded.f32    gguf.quants dequantization of T_blocks.bin
  T_random.bin     random block bytes (every bit pattern, finite binary16 scales)
  T_random.f32     gguf.quants dequantization of T_random.bin
Deterministic: fixed seeds; rerunning gives identical bytes.
"""
import argparse
import ctypes
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT
import gguf.quants

TYPES = {"q8_0": (QT.Q8_0, 32, 34), "q4_k": (QT.Q4_K, 256, 144), "q5_k": (QT.Q5_K, 256, 176), "q6_k": (QT.Q6_K, 256, 210)}
# byte offsets of the binary16 scales inside a block (made finite in the random blocks)
FP16_AT = {"q8_0": [0], "q4_k": [0, 2], "q5_k": [0, 2], "q6_k": [208]}


def inputs(seed=7):
    r = np.random.default_rng(seed)
    rows = []
    g = lambda s: r.standard_normal(256) * s
    for s in (1.0, 0.02, 3.0):
        rows.append(g(s))
    rows.append(np.zeros(256))
    rows.append(g(1e-30))
    rows.append(g(1e-10))
    rows.append(g(3e4))
    rows.append(-np.abs(g(1.0)))                       # negative only
    rows.append(np.abs(g(0.5)) + 0.1)                  # positive only, min > 0
    rows.append(np.full(256, 0.3))                     # constant
    o = g(0.01); o[37] = 5.0; rows.append(o)           # one outlier
    m = g(1.0) * np.repeat(10.0 ** np.arange(-4, 4), 32); rows.append(m)   # sub-blocks 1e-4 .. 1e3
    t = (r.integers(-20, 20, 256) + 0.5) * 0.25; rows.append(t)            # halfway values
    sp = g(1.0) * (r.random(256) < 0.1); rows.append(sp)                   # sparse
    rows.append(r.uniform(-1, 1, 256))
    rows.append(-np.abs(g(1e-3)) - 1e-3)
    for _ in range(48):                                # random shapes and scales (log-uniform 1e-6 .. 1e3)
        s = 10.0 ** r.uniform(-6, 3)
        kind = r.integers(0, 4)
        v = [r.standard_normal(256), r.standard_t(3, 256), r.uniform(-1, 1, 256) + r.uniform(-1, 1), r.laplace(size=256)][kind]
        rows.append(v * s)
    return np.stack(rows).astype(np.float32)


def ggml_quantize(lib, name, x):
    _, bs, tb = TYPES[name]
    fn = getattr(lib, "quantize_row_" + {"q8_0": "q8_0", "q4_k": "q4_K", "q5_k": "q5_K", "q6_k": "q6_K"}[name] + "_ref")
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    fn.restype = None
    x = np.ascontiguousarray(x.reshape(-1), dtype=np.float32)
    out = np.zeros(x.size // bs * tb, dtype=np.uint8)
    fn(x.ctypes.data, out.ctypes.data, x.size)
    return out


def random_blocks(name, n, seed):
    qt, bs, tb = TYPES[name]
    r = np.random.default_rng(seed)
    b = r.integers(0, 256, (n, tb), dtype=np.uint8)
    for off in FP16_AT[name]:
        h = r.integers(0, 0x7C00, n, dtype=np.uint16) | (r.integers(0, 2, n, dtype=np.uint16) << 15)
        b[:, off:off + 2] = h.astype("<u2").view(np.uint8).reshape(n, 2)
    return b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ggml", required=True, help="libggml-base.so of node-llama-cpp@3.21.1 (linux-x64)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    lib = ctypes.CDLL(a.ggml)
    os.makedirs(a.out, exist_ok=True)
    x = inputs()
    x.astype("<f4").tofile(os.path.join(a.out, "input.f32"))
    for name, (qt, bs, tb) in TYPES.items():
        blocks = ggml_quantize(lib, name, x)
        if name == "q8_0":  # gguf.quants quantizes Q8_0: it must agree with ggml
            py = gguf.quants.quantize(x, qt).reshape(-1)
            assert np.array_equal(py, blocks), "gguf.quants Q8_0 differs from ggml's quantize_row_q8_0_ref"
        dec = gguf.quants.dequantize(blocks, qt).astype(np.float32).reshape(-1)
        assert dec.size == x.size
        rnd = random_blocks(name, 24 if bs == 256 else 96, {"q8_0": 1, "q4_k": 2, "q5_k": 3, "q6_k": 4}[name])
        rdec = gguf.quants.dequantize(rnd.reshape(-1), qt).astype(np.float32).reshape(-1)
        blocks.tofile(os.path.join(a.out, name + "_blocks.bin"))
        dec.astype("<f4").tofile(os.path.join(a.out, name + "_decoded.f32"))
        rnd.tofile(os.path.join(a.out, name + "_random.bin"))
        rdec.astype("<f4").tofile(os.path.join(a.out, name + "_random.f32"))
        print(f"{name}: {x.shape[0]} rows, {blocks.size} bytes, max |x - dequant(quant(x))| on row 0: "
              f"{np.abs(dec[:256] - x[0]).max():.4g}")


if __name__ == "__main__":
    main()
