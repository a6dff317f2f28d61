package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** {@code jseek inspect --preset 671b}. Oracle: the DeepSeek-V3 report's 671B total and 37B active parameters, to the digit as counted from its shapes. */
class InspectCommandTest {
    @Test
    void printsTheReportsParameterCountsFor671B() {
        ExportCommandTest.Run r = ExportCommandTest.run("inspect", "--preset", "671b");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("total parameters (main model):  671,026,419,200 (671.03B)\n"), r.out());
        assertTrue(r.out().contains("active per token (main model):  37,552,297,472 (37.55B)\n"), r.out());
        assertTrue(r.out().contains("MTP parameters (unique):        11,610,068,224 (11.61B)\n"), r.out());
        assertTrue(r.out().contains("KV cache per token (BF16):      70,272 bytes latent"), r.out());
    }
}
