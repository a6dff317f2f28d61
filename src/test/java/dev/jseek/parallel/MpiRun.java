package dev.jseek.parallel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts {@code mpirun -np N java ... MAIN ARGS} on this machine for the MPI tests: the test JVM's class path, root
 * allowed (CI runs as root), oversubscription (4 processes on 2 cores), shared-memory transport ({@code self,vader}).
 * Without Open MPI the test is skipped, and fails in CI ({@link dev.jseek.ExternalPeers}; {@code .ci/run} installs it).
 */
public final class MpiRun {
    private MpiRun() {}

    public record Result(int exit, String output, double seconds) {}

    /** A running mpirun job. */
    public record Started(Process process, Path log) {
        public String output() {
            try {
                return Files.readString(log);
            } catch (IOException e) {
                return "(no output: " + e + ")";
            }
        }

        /** Waits up to {@code seconds} for the job to end (kills it and fails after). */
        public Result await(double seconds) throws IOException, InterruptedException {
            long t0 = System.nanoTime();
            boolean done = process.waitFor((long) (seconds * 1000), TimeUnit.MILLISECONDS);
            if (!done) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                process.waitFor();
                throw new AssertionError("mpirun still running after " + seconds + " s:\n" + output());
            }
            String out = output();
            Files.deleteIfExists(log);
            return new Result(process.exitValue(), out, (System.nanoTime() - t0) / 1e9);
        }
    }

    /** Starts one process per entry of {@code perRankProps} (MPMD: rank r gets those JVM options), all running MAIN ARGS. */
    public static Started start(List<List<String>> perRankProps, String main, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(MPIRUN.toString(), "--oversubscribe", "--mca", "btl", "self,vader"));
        for (int r = 0; r < perRankProps.size(); r++) {
            if (r > 0) cmd.add(":");
            cmd.addAll(List.of("-np", "1"));
            cmd.addAll(java(perRankProps.get(r), main, args));
        }
        return launch(cmd);
    }

    private static final Path MPIRUN = Path.of("/usr/bin/mpirun");

    private static List<String> java(List<String> jvmProps, String main, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss8m", "-XX:+UseSerialGC",
                "-Xmx512m", "-Djseek.threads=1"));
        cmd.addAll(jvmProps);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static Started launch(List<String> cmd) throws IOException {
        dev.jseek.ExternalPeers.require(Files.isExecutable(MPIRUN), "Open MPI 4's /usr/bin/mpirun (openmpi-bin libopenmpi-dev)");
        Path log = Files.createTempFile("mpirun", ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT", "1");
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        return new Started(pb.start(), log);
    }

    public static Result run(int np, double timeoutSeconds, List<String> jvmProps, String main, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(MPIRUN.toString(), "--oversubscribe", "--mca", "btl", "self,vader", "-np", Integer.toString(np)));
        cmd.addAll(java(jvmProps, main, args));
        return launch(cmd).await(timeoutSeconds);
    }
}
