package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jseek bench rows} end to end on the small fixture model: both modes, the per-phase table, user errors (--alternate's checked before the model loads). */
class BenchRowsCommandTest {
    @Test
    void measuresBothModesAndProfiles() throws Exception {
        Path hf = ForwardCommandTest.fixture();
        ExportCommandTest.Run r = ExportCommandTest.run("bench", "rows", "--model", hf.toString(), "--m", "1,2,3", "--reps", "2",
                "--context", "4", "--profile");
        assertEquals(0, r.rc(), r.err());
        for (String mode : new String[] {"verify", "batch"}) {
            assertTrue(r.out().matches("(?s).*\\n" + mode + " +1 +[0-9.]+ +1\\.00x +[0-9.]+ +[0-9.]+ +1\\.00x\\n.*"), r.out());
            assertTrue(r.out().matches("(?s).*\\n" + mode + " +3 +[0-9.]+ +[0-9.]+x.*"), r.out());
            assertTrue(r.out().contains(mode + ": us per forward by phase"), r.out());
        }
        assertTrue(r.out().matches("(?s).*\\nlm_head \\* +[0-9.]+ +[0-9.]+ +[0-9.]+\\n.*"), r.out());
    }

    @Test
    void userErrorsAreOneLine(@TempDir Path tmp) throws Exception {
        Path hf = ForwardCommandTest.fixture();
        String[][] bad = {
                {"--model", hf.toString(), "--m", "2,4"},
                {"--model", hf.toString(), "--m", "1,65"},
                {"--model", hf.toString(), "--mode", "sideways"},
                {"--model", hf.toString(), "--reps", "0"},
                {"--model", tmp.resolve("nothing").toString()},
                {"--model", tmp.resolve("nothing").toString(), "--alternate", "jseek.contiguousBatch"},
                {"--model", tmp.resolve("nothing").toString(), "--alternate", "jseek.threads=1,2"},
                {"--model", hf.toString(), "--alternate", "jseek.contiguousBatch=true,false", "--profile"},
        };
        String[] want = {"must start with 1", "outside 1..64", "unknown value 'sideways'", "--reps must be >= 1", "does not exist",
                "KNOB=V1,V2,..., got 'jseek.contiguousBatch'", "jseek.threads is not a knob", "--alternate and --profile"};
        for (int i = 0; i < bad.length; i++) {
            String[] args = new String[bad[i].length + 2];
            args[0] = "bench";
            args[1] = "rows";
            System.arraycopy(bad[i], 0, args, 2, bad[i].length);
            ExportCommandTest.Run r = ExportCommandTest.run(args);
            assertNotEquals(0, r.rc(), String.join(" ", args));
            assertTrue(r.err().contains(want[i]), r.err());
            assertFalse(r.err().contains("\tat "), r.err());
        }
    }
}
