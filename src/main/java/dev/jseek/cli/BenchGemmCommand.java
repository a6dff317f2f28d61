package dev.jseek.cli;

import dev.jseek.bench.GemmBench;
import dev.jseek.bench.OpenBlas;
import dev.jseek.kernels.Parallel;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jseek bench gemm}: parses the options and runs {@link GemmBench} (jseek GEMM/Linear vs OpenBLAS sgemm). */
@Command(name = "gemm", mixinStandardHelpOptions = true,
        description = "jseek GEMM/Linear vs OpenBLAS sgemm: square F32 and DeepSeek-V3 shapes (F32/BF16/FP8 weights).")
public final class BenchGemmCommand implements Callable<Integer> {
    @Option(names = "--threads", description = "Threads for jseek and OpenBLAS (default: jseek.threads or all cores).")
    Integer threads;

    @Option(names = "--sizes", split = ",", description = "Square F32 sizes (default 512,1024,2048,4096; --quick: 512,1024,2048).")
    int[] sizes;

    @Option(names = "--quick", description = "Fewer repetitions, no 4096 square, M = 1 and 512 only for the model shapes.")
    boolean quick;

    @Option(names = "--no-shapes", negatable = false, description = "Skip the DeepSeek-V3 Linear shapes.")
    boolean noShapes;

    @Option(names = "--reps", description = "Timed repetitions per case (median reported; default 7, --quick 3).")
    Integer reps;

    @Option(names = "--cpu-time", description = "Time by the calling thread's CPU time instead of wall time (needs --threads 1); "
            + "robust on a shared, oversubscribed machine.")
    boolean cpuTime;

    @Option(names = "--warmup-seconds", description = "JIT warm-up before the first timing: small products of every kernel "
            + "path (sgemm with each transpose, Linear at M = 1, 16, 128 on each weight dtype) for this long (default ${DEFAULT-VALUE}).",
            defaultValue = "3")
    double warmupSeconds;

    @Option(names = "--openblas", description = "Path of the OpenBLAS shared library (default ${DEFAULT-VALUE}).",
            defaultValue = OpenBlas.DEFAULT_PATH)
    String openblasPath;

    @Option(names = "--openblas-core", defaultValue = "auto",
            description = "OpenBLAS kernel set: auto (SkylakeX on AVX-512 CPUs, Haswell on AVX2, unless OPENBLAS_CORETYPE is set), "
                    + "default (let OpenBLAS detect), or a core name for OPENBLAS_CORETYPE.")
    String openblasCore;

    @Override public Integer call() {
        int t = PoolThreadsOption.apply(threads, Parallel::threads);
        if (cpuTime && t != 1) throw new UserException("--cpu-time: needs --threads 1 (all work on the timed thread), got " + t);
        int[] sq = sizes != null ? sizes : quick ? new int[] {512, 1024, 2048} : new int[] {512, 1024, 2048, 4096};
        for (int s : sq) if (s < 1 || s > 16384) throw new UserException("--sizes: " + s + " is outside 1..16384");
        int nReps = reps != null ? reps : quick ? 3 : 7;
        if (nReps < 1) throw new UserException("--reps: must be >= 1, got " + nReps);

        if (warmupSeconds < 0) throw new UserException("--warmup-seconds: must be >= 0, got " + warmupSeconds);
        new GemmBench(System.out, t, sq, quick, noShapes, nReps, cpuTime, warmupSeconds, openblasPath, openblasCore).run();
        return 0;
    }
}
