package dev.jseek.cli;

import dev.jseek.bench.CommBench;
import dev.jseek.parallel.MpiComm;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code jseek bench comm}: parses the options and runs {@link CommBench} (jseek's MPI binding vs mpi4py; dispatch/combine). */
@Command(name = "comm", mixinStandardHelpOptions = true,
        description = "All-to-all-v and all-reduce GB/s of jseek's Open MPI binding vs mpi4py on the same sizes, and "
                + "expert-parallel dispatch/combine at hidden 1024, top-8 of 64 experts (starts mpirun itself).")
public final class BenchCommCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--np", defaultValue = "2", description = "MPI processes (default ${DEFAULT-VALUE}).") int np;
    @Option(names = "--sizes-mib", split = ",", defaultValue = "1,16,64", description = "Buffer MiB per rank (default ${DEFAULT-VALUE}).") int[] sizesMib;
    @Option(names = "--rounds", defaultValue = "3", description = "Alternating jseek / mpi4py jobs; best of them (default ${DEFAULT-VALUE}).") int rounds;
    @Option(names = "--iters-mib", defaultValue = "256", description = "Iterations per size = this / size, clamped to 3..200 (default ${DEFAULT-VALUE}).") int itersMib;
    @Option(names = "--tokens", defaultValue = "4096", description = "Tokens per rank of the dispatch/combine case (default ${DEFAULT-VALUE}).") int tokens;
    @Option(names = "--hidden", defaultValue = "1024", description = "Hidden size of the dispatch/combine case (V3: 7168; default ${DEFAULT-VALUE}).") int hidden;
    @Option(names = "--experts", defaultValue = "64", description = "Routed experts (V3: 256; default ${DEFAULT-VALUE}).") int experts;
    @Option(names = "--top-k", defaultValue = "8", description = "Experts per token (default ${DEFAULT-VALUE}).") int topK;
    @Option(names = "--mpirun", defaultValue = "mpirun", description = "mpirun command (default ${DEFAULT-VALUE}).") String mpirun;
    @Option(names = "--mca", description = "Extra mpirun arguments, space-separated (e.g. \"--mca btl self,vader\").") String mca;
    @Option(names = "--python", defaultValue = "/usr/bin/python3", description = "Python with mpi4py and numpy (default ${DEFAULT-VALUE}).") String python;
    @Option(names = "--worker", hidden = true) boolean worker;

    @Override public Integer call() throws Exception {
        if (!worker && MpiComm.launchedByMpirun())
            throw new UserException("bench comm starts mpirun itself (--np N): run ./jseek bench comm without mpirun");
        if (worker && !MpiComm.launchedByMpirun()) throw new UserException("bench comm --worker runs under mpirun (bench comm starts it)");
        CommBench b;
        try {
            b = new CommBench(np, sizesMib, rounds, itersMib, tokens, hidden, experts, topK, mpirun, mca, python);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        }
        if (worker) return b.work(spec.commandLine().getOut());
        List<String> java = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--add-modules",
                "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC", "-Djseek.threads=1", "-cp",
                System.getProperty("java.class.path"), Jseek.class.getName(), "bench", "comm"));
        java.addAll(b.workerArgs());
        try {
            return b.orchestrate(spec.commandLine().getOut(), java);
        } catch (IllegalStateException e) {
            throw new UserException(e.getMessage(), e);
        }
    }
}
