package dev.jseek.cli;

import dev.jseek.io.MemoryBudget;
import dev.jseek.model.DeepSeekV3;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** The line commands print after opening a model: load time, resident memory, the weights' file size (and heap copies), heap used. */
final class LoadReport {
    private LoadReport() {}

    static void print(Path model, long t0Nanos, DeepSeekV3 m, PrintStream err) {
        Runtime r = Runtime.getRuntime();
        long rss = MemoryBudget.residentBytes(), heap = r.totalMemory() - r.freeMemory();
        err.printf("loaded %s in %.1f s: resident %s (%s%s), Java heap in use %s of %s%n", model, (System.nanoTime() - t0Nanos) / 1e9,
                rss < 0 ? "unknown" : MemoryBudget.gb(rss), weights(model), copies(m), MemoryBudget.gb(heap), MemoryBudget.gb(r.maxMemory()));
    }

    /**
     * ", 31.46 MB of weights copied to the heap" when the model rebuilt weights on the heap ({@link
     * DeepSeekV3#heapWeightCopyBytes}: kv_b_proj decoded to F32 from a block-typed GGUF with {@code -Djseek.kvBHalves=false}), else "".
     */
    static String copies(DeepSeekV3 m) {
        long n = m.heapWeightCopyBytes();
        return n == 0 ? "" : String.format(", %.2f MB of weights copied to the heap", n / 1e6);
    }

    /** "weights mapped from a 1.64 GB file" (or directory of files). */
    private static String weights(Path model) {
        try {
            long n;
            if (Files.isDirectory(model)) {
                try (var s = Files.list(model)) {
                    n = s.filter(p -> p.toString().endsWith(".safetensors")).mapToLong(p -> p.toFile().length()).sum();
                }
            } else {
                n = Files.size(model);
            }
            return "weights mapped from " + MemoryBudget.gb(n) + " of files";
        } catch (java.io.IOException e) {
            return "weights mapped";
        }
    }
}
