package dev.jseek.cli;

import picocli.CommandLine.Option;

/** The shape of a training step ({@code train}, {@code sft}, {@code quickstart}): sequence length, micro-batch and batch. */
final class BatchOptions {
    @Option(names = "--seq-len", description = "Tokens per sequence (longer SFT conversations are cut; default ${DEFAULT-VALUE}).") int seqLen;
    @Option(names = "--micro-batch", description = "Sequences per forward/backward (default ${DEFAULT-VALUE}).") int micro;
    @Option(names = "--batch", description = "Sequences per optimizer step, a multiple of --micro-batch (default ${DEFAULT-VALUE}).") int batch;

    BatchOptions() { this(512, 4, 16); }

    BatchOptions(int seqLen, int micro, int batch) {
        this.seqLen = seqLen;
        this.micro = micro;
        this.batch = batch;
    }

    /** --seq-len >= 2; --batch a positive multiple of --micro-batch >= 1. */
    void check() {
        if (seqLen < 2) throw new UserException("--seq-len must be >= 2, got " + seqLen);
        RunOptions.checkBatch(micro, batch);
    }
}
