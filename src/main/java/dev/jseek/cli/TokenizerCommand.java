package dev.jseek.cli;

import dev.jseek.tokenizer.BpeTrainer;
import dev.jseek.tokenizer.TrainingCorpus;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code jseek tokenizer ...}: tokenizer tools; {@code train} learns a byte-level BPE tokenizer. */
@Command(name = "tokenizer", mixinStandardHelpOptions = true, description = "Tokenizer tools.",
        subcommands = {TokenizerCommand.Train.class})
public final class TokenizerCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() { spec.commandLine().usage(System.out); }

    /**
     * {@code jseek tokenizer train}: byte-level BPE with the DeepSeek-V3 pre-tokenizer and fixed special ids (see
     * {@link BpeTrainer}); writes a HF tokenizer.json.
     */
    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Train a byte-level BPE tokenizer (DeepSeek-V3 pre-tokenizer, special tokens at ids 0..17) "
                    + "and write a Hugging Face tokenizer.json.")
    public static final class Train implements Callable<Integer> {
        @Option(names = "--corpus", required = true, description = "a text file, a directory (recursive) or a .zip")
        Path corpus;

        @Option(names = "--include", description = "glob on file / zip entry names, e.g. '*.java' (default: all)")
        String include;

        @Option(names = "--max-mb", description = "read at most this many MB of the corpus (default: all)")
        Double maxMb;

        @Option(names = "--vocab-size", required = true, description = "total ids, including 18 special tokens and 256 bytes")
        int vocabSize;

        /** The default of {@code --min-frequency}. */
        static final int MIN_FREQUENCY = 2;

        @Option(names = "--min-frequency", defaultValue = "" + MIN_FREQUENCY, description = "stop when the best pair is rarer (default: 2)")
        int minFrequency;

        @Option(names = "--threads", description = "threads for counting (default: all cores)")
        Integer threads;

        @Option(names = "--out", required = true, description = "tokenizer.json to write")
        Path out;

        @Option(names = "--no-progress", description = "no progress bars")
        boolean noProgress;

        /** Two bars on standard error: MB of corpus counted, then vocabulary learned. */
        private static final class Bars implements BpeTrainer.Listener, AutoCloseable {
            private final long maxBytes;
            private final int target;
            private me.tongfei.progressbar.ProgressBar count, merge;

            Bars(long maxBytes, int target) { this.maxBytes = maxBytes; this.target = target; }

            @Override public void counted(long documents, long bytes) {
                if (count == null)
                    count = new me.tongfei.progressbar.ProgressBarBuilder().setTaskName("count").setStyle(me.tongfei.progressbar.ProgressBarStyle.ASCII)
                            .setInitialMax(maxBytes == Long.MAX_VALUE ? -1 : maxBytes / 1_000_000).setUnit(" MB", 1).build();
                count.stepTo(bytes / 1_000_000);
                count.setExtraMessage(documents + " docs");
            }

            @Override public void merged(int size, int target) {
                if (count != null) { count.close(); count = null; }
                if (merge == null)
                    merge = new me.tongfei.progressbar.ProgressBarBuilder().setTaskName("merge").setStyle(me.tongfei.progressbar.ProgressBarStyle.ASCII)
                            .setInitialMax(this.target).setUnit(" ids", 1).build();
                merge.stepTo(size);
            }

            @Override public void close() {
                if (count != null) count.close();
                if (merge != null) { merge.stepTo(target); merge.close(); }
            }
        }

        @Override public Integer call() throws IOException {
            train(corpus, include, maxMb, vocabSize, minFrequency, threads, out, noProgress);
            return 0;
        }

        /**
         * Learns the tokenizer from {@code corpus} (files matching {@code include}, at most {@code maxMb} MB; null: all)
         * and writes {@code out}, printing what it did; {@code threads} null = all cores.
         */
        static void train(Path corpus, String include, Double maxMb, int vocabSize, int minFrequency, Integer threads, Path out,
                          boolean noProgress) throws IOException {
            if (maxMb != null && maxMb <= 0) throw new UserException("--max-mb must be positive, got " + maxMb);
            long maxBytes = maxMb == null ? Long.MAX_VALUE : (long) (maxMb * 1e6);
            TrainingCorpus c = new TrainingCorpus(corpus, include, maxBytes);
            BpeTrainer.Result r;
            try (Bars bars = noProgress ? null : new Bars(maxBytes, vocabSize)) {
                BpeTrainer.Options o;
                try {
                    o = new BpeTrainer.Options(vocabSize, minFrequency,
                            threads == null ? Runtime.getRuntime().availableProcessors() : threads, System.err, bars);
                } catch (IllegalArgumentException e) {
                    throw new UserException(e.getMessage());
                }
                r = BpeTrainer.train(c, o, out);
            } catch (java.nio.file.NoSuchFileException e) {
                throw new UserException("corpus not found: " + e.getFile());
            }
            if (r.vocabSize() < vocabSize) {
                System.err.printf("note: stopped at vocab %d < %d: no pair occurs %d+ times any more%n", r.vocabSize(),
                        vocabSize, minFrequency);
            }
            System.out.printf("trained %s: vocab %d, %d merges, from %d documents (%.1f MB, %d words, %d distinct); "
                            + "counting %.1f s, merging %.1f s%n", out, r.vocabSize(), r.merges(), r.documents(), r.bytes() / 1e6,
                    r.words(), r.distinctWords(), r.countSeconds(), r.mergeSeconds());
        }
    }
}
