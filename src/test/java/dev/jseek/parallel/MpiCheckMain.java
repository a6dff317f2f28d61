package dev.jseek.parallel;

/**
 * Run under mpirun by {@link MpiCommTest}: {@code ops} runs {@link CommChecks} with heap and native buffers and
 * prints "ok rank R of N"; {@code hang} makes the last rank sleep instead of joining a barrier; {@code die} makes the
 * last rank SIGKILL itself before a barrier. Failures go through {@link MpiComm#abort}, as in the CLI.
 */
public final class MpiCheckMain {
    public static void main(String[] args) throws Exception {
        MpiComm c = MpiComm.world();
        try {
            switch (args[0]) {
                case "ops" -> {
                    CommChecks.all(c, true);
                    CommChecks.all(c, false);
                    if (c.size() == 4) CommChecks.subGroups(c, false);
                    System.out.println("ok rank " + c.rank() + " of " + c.size() + ", oversubscribed " + MpiComm.oversubscribed());
                }
                case "hang", "die" -> {
                    c.barrier();
                    if (c.rank() == c.size() - 1) {
                        System.out.println("rank " + c.rank() + " pid " + ProcessHandle.current().pid() + " stops");
                        System.out.flush();
                        if (args[0].equals("die")) new ProcessBuilder("kill", "-9", Long.toString(ProcessHandle.current().pid())).start().waitFor();
                        Thread.sleep(600_000);
                    }
                    c.barrier();
                    System.out.println("rank " + c.rank() + " passed the barrier");
                }
                default -> throw new IllegalArgumentException(args[0]);
            }
        } catch (CommException | AssertionError e) {
            c.abort(e.getMessage());
        }
        c.close();
    }
}
