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
 * Fails with a clear message when Open MPI is missing ({@code .ci/run} installs it).
 */
final class MpiRun {
    private MpiRun() {}

    record Result(int exit, String output, double seconds) {}

    static Result run(int np, double timeoutSeconds, List<String> jvmProps, String main, String... args) throws IOException, InterruptedException {
        Path mpirun = Path.of("/usr/bin/mpirun");
        if (!Files.isExecutable(mpirun))
            throw new AssertionError("Open MPI is not installed (apt-get install openmpi-bin libopenmpi-dev; .ci/run does it)");
        List<String> cmd = new ArrayList<>(List.of(mpirun.toString(), "--oversubscribe", "--mca", "btl", "self,vader", "-np", Integer.toString(np),
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss8m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Xmx512m", "-Djseek.threads=1"));
        cmd.addAll(jvmProps);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main));
        cmd.addAll(List.of(args));
        Path log = Files.createTempFile("mpirun", ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT", "1");
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        long t0 = System.nanoTime();
        Process p = pb.start();
        boolean done = p.waitFor((long) (timeoutSeconds * 1000), TimeUnit.MILLISECONDS);
        double sec = (System.nanoTime() - t0) / 1e9;
        if (!done) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor();
        }
        String out = Files.readString(log);
        Files.deleteIfExists(log);
        if (!done) throw new AssertionError("mpirun -np " + np + " still running after " + timeoutSeconds + " s:\n" + out);
        return new Result(p.exitValue(), out, sec);
    }
}
