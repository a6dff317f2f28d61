package dev.jseek.data;

/**
 * Train/validation split of pre-training documents. A document is held out for validation when
 * {@code unit(combine(seed, hash(text))) < valFraction}: decided by its text (not its position), so it is stable
 * when the corpus is reordered or extended, and exact duplicates always land on the same side.
 */
public enum Split {
    TRAIN("train", 0), VAL("val", 1);

    public final String fileName;
    public final int code;

    Split(String fileName, int code) {
        this.fileName = fileName;
        this.code = code;
    }

    public static Split of(int code) {
        for (Split s : values()) if (s.code == code) return s;
        throw new IllegalArgumentException("split code " + code);
    }

    /** The split of a document with this text under (seed, valFraction). */
    public static Split of(String text, long seed, double valFraction) {
        if (valFraction <= 0) return TRAIN;
        return Hashing.unit(Hashing.combine(seed, Hashing.hash(text))) < valFraction ? VAL : TRAIN;
    }
}
