package dev.jseek.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jseek.kernels.DecodeOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code bench infer --alternate}'s checks: an unknown knob or a bad value is refused with one line, before anything loads. */
class DecodeAlternationTest {
    @Test
    void refusesUnknownKnobsAndBadValuesAndLeavesTheKnobAlone() {
        String was = DecodeOrder.get("jseek.manyRows");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new DecodeAlternation(List.of(), "jseek.threads", List.of("1", "2"), 4, 1, 1, System.err));
        assertTrue(e.getMessage().contains("jseek.threads") && e.getMessage().contains("jseek.seqRows"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new DecodeAlternation(List.of(), "jseek.manyRows", List.of("128", "30"), 4, 1, 1, System.err));
        assertTrue(e.getMessage().contains("multiple of 4") && e.getMessage().contains("30"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new DecodeAlternation(List.of(), "jseek.seqRows", List.of("true", "yes"), 4, 1, 1, System.err));
        assertTrue(e.getMessage().contains("'yes'"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new DecodeAlternation(List.of(), "jseek.seqRows", List.of("true"), 4, 1, 1, System.err));
        assertEquals(was, DecodeOrder.get("jseek.manyRows"));
    }
}
