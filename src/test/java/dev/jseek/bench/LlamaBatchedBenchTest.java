package dev.jseek.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The peer's output as {@code llama-batched-bench --output-format jsonl} printed it (built by
 * tools/build-llama-cpp.sh, run on the quickstart-shaped BF16 GGUF with -npp 128 -ntg 64 -npl 1,4 -t 2), with a log
 * line among the results: the result lines are read field by field and the log is skipped.
 */
class LlamaBatchedBenchTest {
    static final String OUTPUT = """
            llama_context: CPU compute buffer size = 12.51 MiB
            {"n_kv_max": 1024, "n_batch": 2048, "n_ubatch": 512, "flash_attn": -1, "is_pp_shared": 0, "n_gpu_layers": -1, "n_threads": 2, "n_threads_batch": 2, "pp": 128, "tg": 64, "pl": 1, "n_kv": 192, "t_pp": 0.269247, "speed_pp": 475.399933, "t_tg": 0.372313, "speed_tg": 171.898376, "t": 0.641560, "speed": 299.270538}
            {"n_kv_max": 1024, "n_batch": 2048, "n_ubatch": 512, "flash_attn": -1, "is_pp_shared": 0, "n_gpu_layers": -1, "n_threads": 2, "n_threads_batch": 2, "pp": 128, "tg": 64, "pl": 4, "n_kv": 768, "t_pp": 0.435276, "speed_pp": 1176.265137, "t_tg": 3.550557, "speed_tg": 72.101364, "t": 3.985833, "speed": 192.682434}

            """;

    @Test void readsTheResultLines() throws Exception {
        List<LlamaBatchedBench.Row> rows = LlamaBatchedBench.parse(OUTPUT);
        assertEquals(2, rows.size());
        assertEquals(new LlamaBatchedBench.Row(128, 64, 1, 0.269247, 475.399933, 0.372313, 171.898376, 0.641560, 299.270538), rows.get(0));
        LlamaBatchedBench.Row four = rows.get(1);
        assertEquals(4, four.pl());
        // S_TG is the aggregate decode speed: pl x tg / t_tg
        assertEquals(4 * 64 / four.tTg(), four.speedTg(), 1e-3);
        assertEquals(List.of(), LlamaBatchedBench.parse("main: error: unable to load model\n"));
    }
}
