package dev.jseek.data;

import java.io.Serializable;

/**
 * The position of a {@link DataLoader}: which epoch, how many windows of it were already yielded ({@code cursor}),
 * the shuffle seed, and the sequence length and window count it was made for (checked on restore, so a state is
 * not applied to a different data set). Small and serializable (Java serialization or as a JSON record) for
 * training checkpoints.
 */
public record LoaderState(long seed, long epoch, long cursor, int seqLen, long sequencesPerEpoch) implements Serializable {}
