package dev.jseek.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@link LlamaBench#parse} on llama-bench's JSON (the fields of build 80fb11a's {@code -o json}, trimmed). */
class LlamaBenchTest {
    private static final String JSON = """
            [
              {
                "build_commit": "80fb11a",
                "build_number": 1,
                "n_prompt": 512,
                "n_gen": 0,
                "avg_ts": 218.1,
                "samples_ts": [ 217.5, 218.7 ]
              },
              {
                "build_commit": "80fb11a",
                "build_number": 1,
                "n_prompt": 0,
                "n_gen": 128,
                "avg_ts": 12.749255,
                "stddev_ts": 1.192329,
                "samples_ns": [ 147141494, 167980400 ],
                "samples_ts": [ 13.5924, 11.9062 ]
              }
            ]
            """;

    @Test
    void meansAndRepetitions() throws Exception {
        LlamaBench.Result r = LlamaBench.parse("main: log line\n" + JSON, 512, 128, Path.of("llama-bench"));
        assertEquals(218.1, r.prefillTokensPerSecond());
        assertEquals(12.749255, r.decodeTokensPerSecond());
        assertEquals("80fb11a (build 1)", r.build());
        assertArrayEquals(new double[] {217.5, 218.7}, r.prefillSamples());
        assertArrayEquals(new double[] {13.5924, 11.9062}, r.decodeSamples());
    }

    @Test
    void missingTestIsAnError() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> LlamaBench.parse(JSON, 512, 64, Path.of("llama-bench")));
        assertEquals("llama-bench: no pp512 and tg64 rows in its JSON output", e.getMessage());
    }
}
