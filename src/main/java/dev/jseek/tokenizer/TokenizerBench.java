package dev.jseek.tokenizer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToLongFunction;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Tokenizer throughput benchmark on JDK sources (the {@code .java} entries of a src.zip, in name order, up to a
 * byte budget): single-threaded encode and batched encode over a thread pool, in MB/s of UTF-8 input. Each
 * contender is an {@link Encoder}; {@code jseek bench tokenizer} runs jseek alone, {@code tools/bench-tokenizer.sh}
 * runs jseek and HF tokenizers (DJL, test classpath) in the same process on the same documents.
 */
public final class TokenizerBench {
    private TokenizerBench() {}

    /** A contender: encodes one document, or a batch of documents in parallel; returns the number of ids. */
    public interface Encoder {
        String name();
        long encode(String doc);
        long encodeBatch(List<String> docs, int threads);
    }

    /**
     * One row of results: MB/s by wall clock, and by CPU time (single: the calling thread's CPU time, which
     * includes native code run in it; batch: the whole process's CPU time) — the CPU-time rates are the fair
     * comparison on a shared, loaded machine.
     */
    public record Result(String name, double singleMBs, double batchMBs, double singleCpuMBs, double batchCpuMBs, long ids,
                         int threads) {}

    /** The corpus: .java files of src.zip in name order until {@code maxBytes} UTF-8 bytes. */
    public static List<String> jdkSources(Path srcZip, long maxBytes) throws IOException {
        List<String> docs = new ArrayList<>();
        long bytes = 0;
        try (ZipFile z = new ZipFile(srcZip.toFile())) {
            List<? extends ZipEntry> java = z.stream().filter(e -> e.getName().endsWith(".java"))
                    .sorted(Comparator.comparing(ZipEntry::getName)).toList();
            for (ZipEntry e : java) {
                if (bytes >= maxBytes) break;
                byte[] b;
                try (var in = z.getInputStream(e)) {
                    b = in.readAllBytes();
                }
                docs.add(new String(b, StandardCharsets.UTF_8));
                bytes += b.length;
            }
        }
        return docs;
    }

    public static long utf8Bytes(List<String> docs) {
        long n = 0;
        for (String d : docs) n += Utf8.encode(d).length;
        return n;
    }

    /** jseek as a contender. */
    public static Encoder jseek(Tokenizer t) {
        return new Encoder() {
            @Override public String name() { return "jseek"; }
            @Override public long encode(String doc) { return t.encode(doc).length; }
            @Override public long encodeBatch(List<String> docs, int threads) {
                return parallel(docs, threads, d -> (long) t.encode(d).length);
            }
        };
    }

    /** Encodes docs on a pool of {@code threads}, one task per document; returns the total id count. */
    public static long parallel(List<String> docs, int threads, ToLongFunction<String> f) {
        ForkJoinPool pool = new ForkJoinPool(threads);
        try {
            AtomicLong total = new AtomicLong();
            pool.submit(() -> docs.parallelStream().forEach(d -> total.addAndGet(f.applyAsLong(d)))).join();
            return total.get();
        } finally {
            pool.shutdown();
        }
    }

    /**
     * Runs every contender: a warm-up pass over the first {@code warmupBytes}, then single-threaded and batched passes
     * over all docs. Prints a table; returns the rows.
     */
    public static List<Result> run(List<String> docs, List<Encoder> encoders, int threads, long warmupBytes, PrintStream out) {
        long bytes = utf8Bytes(docs);
        List<String> warm = new ArrayList<>();
        long wb = 0;
        for (String d : docs) {
            if (wb >= warmupBytes) break;
            warm.add(d);
            wb += d.length();
        }
        out.printf("corpus: %d files, %.1f MB UTF-8; threads for batch: %d; cpus: %d; load average at start: %.2f%n",
                docs.size(), bytes / 1e6, threads, Runtime.getRuntime().availableProcessors(), loadAverage());
        List<Result> rows = new ArrayList<>();
        for (Encoder e : encoders) {
            for (String d : warm) e.encode(d);
            e.encodeBatch(warm, threads);
            var threadMx = java.lang.management.ManagementFactory.getThreadMXBean();
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            long c0 = threadMx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            long ids = 0;
            for (String d : docs) ids += e.encode(d);
            long t1 = System.nanoTime();
            long c1 = threadMx.getCurrentThreadCpuTime();
            long p1 = os.getProcessCpuTime();
            long idsBatch = e.encodeBatch(docs, threads);
            long t2 = System.nanoTime();
            long p2 = os.getProcessCpuTime();
            if (idsBatch != ids) throw new IllegalStateException(e.name() + ": batch gave " + idsBatch + " ids, single " + ids);
            double mb = bytes / 1e6;
            rows.add(new Result(e.name(), mb / ((t1 - t0) / 1e9), mb / ((t2 - t1) / 1e9), mb / ((c1 - c0) / 1e9),
                    mb / ((p2 - p1) / 1e9), ids, threads));
        }
        out.printf("%-10s %12s %12s %16s %16s %12s%n", "encoder", "single MB/s", "batch MB/s", "single MB/cpu-s",
                "batch MB/cpu-s", "ids");
        for (Result r : rows) {
            out.printf("%-10s %12.2f %12.2f %16.2f %16.2f %12d%n", r.name(), r.singleMBs(), r.batchMBs(), r.singleCpuMBs(),
                    r.batchCpuMBs(), r.ids());
        }
        for (int i = 1; i < rows.size(); i++) {
            Result a = rows.get(0), b = rows.get(i);
            out.printf("ratio %s/%s: wall single %.2f, batch %.2f; cpu single %.2f, batch %.2f%n", a.name(), b.name(),
                    a.singleMBs() / b.singleMBs(), a.batchMBs() / b.batchMBs(), a.singleCpuMBs() / b.singleCpuMBs(),
                    a.batchCpuMBs() / b.batchCpuMBs());
        }
        out.printf("load average at end: %.2f%n", loadAverage());
        return rows;
    }

    static double loadAverage() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

}
