#!/usr/bin/env python3
"""The mpi4py peer of `jseek bench comm`: the same Open MPI calls on the same sizes, timed the same way.

Run by `jseek bench comm` as `mpirun -np N /usr/bin/python3 tools/bench_comm_mpi4py.py --sizes BYTES,... --iters-bytes B`
(Debian's python3-mpi4py and python3-numpy). Rank 0 prints `RESULT impl op bytes seconds_per_iteration` lines:
  mpi4py-a2av           MPI_Ialltoallv + MPI_Wait (the call jseek's all-to-all-v makes)
  mpi4py-a2av-blocking  MPI_Alltoallv
  mpi4py-allreduce      jseek's rank-ordered all-reduce: Ialltoallv of the pieces, numpy sum in rank order, Iallgatherv
  mpi4py-allreduce-mpi  MPI_Allreduce (Open MPI's own algorithm and order)
Each case: a warm-up of at least `iters` iterations and 1 s; then 5 rounds in which every case in turn runs a window of
`iters` iterations after a barrier, timed on rank 0; each case's best window counts (as on the jseek side, CommBench.timed).
"""
import argparse
import time

import numpy as np
from mpi4py import MPI


WARMUP_SECONDS = 1.0  # as CommBench.WARMUP_SECONDS
WINDOWS = 5           # as CommBench.WINDOWS


def timed(comm, iters, ops):
    """As CommBench.timed: per op, 3 calls estimate the time and every rank warms up max(iters, WARMUP_SECONDS /
    slowest estimate) calls; then WINDOWS rounds in which every op in turn runs iters calls after a barrier
    (interleaved). Returns each op's best window in seconds per call."""
    for fn in ops.values():
        t0 = time.perf_counter()
        for _ in range(3):
            fn()
        est = max(comm.allgather(max(1e-9, (time.perf_counter() - t0) / 3)))
        for _ in range(max(iters, min(200_000, int(WARMUP_SECONDS / est)))):
            fn()
    best = {}
    for _ in range(WINDOWS):
        for k, fn in ops.items():
            comm.Barrier()
            t0 = time.perf_counter()
            for _ in range(iters):
                fn()
            best[k] = min(best.get(k, float("inf")), (time.perf_counter() - t0) / iters)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", required=True, help="bytes per rank, comma-separated")
    ap.add_argument("--iters-bytes", type=int, default=256 << 20, help="iterations = clamp(this / size, 3, 200)")
    a = ap.parse_args()
    comm = MPI.COMM_WORLD
    n, r = comm.Get_size(), comm.Get_rank()
    for size in [int(s) for s in a.sizes.split(",")]:
        iters = max(3, min(200, a.iters_bytes // size))
        floats = size // 4
        per = floats // n
        counts = [per] * n
        displs = [i * per for i in range(n)]
        send = np.ones(per * n, dtype=np.float32) * (r + 1)
        recv = np.empty(per * n, dtype=np.float32)
        f = MPI.FLOAT
        # rank-ordered all-reduce of `floats` elements, as jseek does it
        buf = np.ones(floats, dtype=np.float32) * (r + 1)
        pc = [floats // n + (1 if i < floats % n else 0) for i in range(n)]
        pd = [sum(pc[:i]) for i in range(n)]
        mine = pc[r]
        parts = np.empty(n * mine, dtype=np.float32)
        shard = np.empty(mine, dtype=np.float32)

        def allreduce():
            comm.Ialltoallv([buf, pc, pd, f], [parts, [mine] * n, [i * mine for i in range(n)], f]).Wait()
            p = parts.reshape(n, mine)
            np.copyto(shard, p[0])
            for i in range(1, n):
                shard.__iadd__(p[i])
            comm.Iallgatherv(shard, [buf, pc, pd, f]).Wait()

        out = np.empty(floats, dtype=np.float32)
        res = timed(comm, iters, {
            "mpi4py-a2av": lambda: comm.Ialltoallv([send, counts, displs, f], [recv, counts, displs, f]).Wait(),
            "mpi4py-a2av-blocking": lambda: comm.Alltoallv([send, counts, displs, f], [recv, counts, displs, f]),
            "mpi4py-allreduce": allreduce,
            "mpi4py-allreduce-mpi": lambda: comm.Allreduce(buf, out, op=MPI.SUM),
        })
        if r == 0:
            for k, v in res.items():
                op = "a2av" if "a2av" in k else "allreduce"
                print(f"RESULT {k} {op} {size} {v:.9f}", flush=True)


if __name__ == "__main__":
    main()
