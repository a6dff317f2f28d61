package dev.jseek.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test-only pause points for crash tests: with the system property {@code jseek.test.pause=POINT@STEP} (and
 * {@code jseek.test.pauseMarker=FILE}), the process that reaches {@code POINT} at step {@code STEP} writes FILE
 * (its first line "POINT@STEP", its second the process id) and then sleeps forever, so a test can kill it there deterministically (SIGKILL).
 * Points: {@code mid-step} (in {@link Trainer#step()}, after forward/backward, before the optimizer update, with the
 * metrics of earlier steps already written) and {@code checkpoint-write} (in {@link TrainCheckpoint#save}, after the
 * model and optimizer files of {@code step-N.tmp/} are written, before the state and the manifest). Without the
 * property nothing happens (one string comparison per call).
 */
public final class FaultPoint {
    public static final String PROPERTY = "jseek.test.pause", MARKER_PROPERTY = "jseek.test.pauseMarker";
    private static final String WHERE = System.getProperty(PROPERTY);
    private static final String MARKER = System.getProperty(MARKER_PROPERTY);

    private FaultPoint() {}

    /** Pauses forever if {@code point@step} is the configured pause point. */
    public static void reach(String point, long step) {
        if (WHERE == null || !WHERE.equals(point + "@" + step)) return;
        if (MARKER != null) {
            try {
                Path tmp = Path.of(MARKER + ".tmp");
                Files.writeString(tmp, WHERE + "\n" + ProcessHandle.current().pid() + "\n", StandardCharsets.UTF_8);
                Files.move(tmp, Path.of(MARKER));
            } catch (IOException e) {
                throw new IllegalStateException("cannot write the pause marker " + MARKER + ": " + e, e);
            }
        }
        while (true) {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                // keep waiting for the kill
            }
        }
    }
}
