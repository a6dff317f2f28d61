package dev.jseek;

import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Assumptions;

/**
 * What an oracle test needs from outside the repository (a program such as node, an npm package, a system library,
 * the JDK's sources): where it is missing, the test is skipped with the reason on a developer's machine, and FAILS in
 * CI (environment variable {@code CI=true}), so that no oracle test passes there by not running. {@code .ci/run} and
 * {@code tools/fetch-test-data.sh} install every peer.
 */
public final class ExternalPeers {
    private ExternalPeers() {}

    /** True in CI: the environment variable CI is "true" or "1". */
    public static boolean inCi() {
        String ci = System.getenv("CI");
        return ci != null && (ci.equalsIgnoreCase("true") || ci.equals("1"));
    }

    /** Whether the system python3 imports {@code module} (e.g. jinja2, the chat-template oracle; Debian python3-jinja2). */
    public static boolean pythonHas(String module) {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import " + module).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (java.io.IOException | InterruptedException e) {
            return false;
        }
    }

    /** Continues when {@code present}; otherwise fails in CI and skips elsewhere, naming {@code what} is missing. */
    public static void require(boolean present, String what) {
        if (present) return;
        String msg = what + " (.ci/run and tools/fetch-test-data.sh install it)";
        if (inCi()) fail("CI=true and an oracle's peer is missing: " + msg);
        Assumptions.abort("skipped, peer missing: " + msg);
    }
}
