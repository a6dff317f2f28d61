package dev.jseek.parallel;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The MPI backend under a real mpirun (Open MPI 4.1 through FFM): every operation against the local oracle on 4
 * processes; a rank that never arrives and a rank that is SIGKILLed end the job within the deadline with a message
 * naming that rank.
 */
class MpiCommTest {
    private static final String MAIN = MpiCheckMain.class.getName();

    @Test void everyOperationMatchesTheOracleOnFourProcesses() throws Exception {
        MpiRun.Result r = MpiRun.run(4, 120, List.of("-XX:TieredStopAtLevel=1"), MAIN, "ops");
        assertEquals(0, r.exit(), r.output());
        // the spin policy's input: mpirun's own verdict (more ranks than the node's cores), not the 1 CPU a bound rank sees
        for (int k = 0; k < 4; k++) assertTrue(r.output().contains("ok rank " + k + " of 4, oversubscribed " + (4 > MpiComm.onlineCpus())), r.output());
    }

    /** The node's online CPUs against getconf's count (the oracle of the /sys parser). */
    @Test void onlineCpusAreGetconfs() throws Exception {
        Process p = new ProcessBuilder("getconf", "_NPROCESSORS_ONLN").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertEquals(0, p.waitFor(), out);
        assertEquals(Integer.parseInt(out), MpiComm.onlineCpus());
    }

    @Test void aRankThatNeverArrivesAbortsTheJobNamingIt() throws Exception {
        MpiRun.Result r = MpiRun.run(2, 60, List.of("-XX:TieredStopAtLevel=1", "-Djseek.comm.timeoutSeconds=2"), MAIN, "hang");
        assertNotEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("jseek: rank 0 of 2: collective #2 (barrier): rank 1 did not arrive within 2.0 s"), r.output());
        assertFalse(r.output().contains("passed the barrier"), r.output());
    }

    /**
     * Arrivals are announced only by ranks whose wait outlasts the spin phase: the 3 ranks waiting at the barrier must
     * announce, so the message names rank 3 alone (a missing announcement would name ranks 1 and 2 as well).
     */
    @Test void onlyTheRankThatNeverArrivesIsNamedAmongFour() throws Exception {
        MpiRun.Result r = MpiRun.run(4, 90, List.of("-XX:TieredStopAtLevel=1", "-Djseek.comm.timeoutSeconds=3"), MAIN, "hang");
        assertNotEquals(0, r.exit(), r.output());
        assertTrue(r.output().matches("(?s).*jseek: rank [012] of 4: collective #2 \\(barrier\\): rank 3 did not arrive within 3\\.0 s.*"), r.output());
        assertFalse(r.output().contains("passed the barrier"), r.output());
    }

    @Test void aKilledRankEndsTheJobWithinTheDeadlineNamingIt() throws Exception {
        MpiRun.Result r = MpiRun.run(2, 60, List.of("-XX:TieredStopAtLevel=1", "-Djseek.comm.timeoutSeconds=30"), MAIN, "die");
        assertNotEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("rank 1 pid"), r.output());
        assertTrue(r.output().contains("process rank 1 with PID") && r.output().contains("signal 9"), r.output());
        assertTrue(r.seconds() < 30, "the job ended after " + r.seconds() + " s:\n" + r.output());
        assertFalse(r.output().contains("passed the barrier"), r.output());
    }
}
