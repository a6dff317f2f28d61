package dev.jseek.posttrain;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jseek.io.FormatException;
import dev.jseek.train.BatchSource;
import dev.jseek.train.DocMask;
import dev.jseek.train.TokenBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * SFT micro-batches for the {@link dev.jseek.train.Trainer} (docs/architecture.md §7.5): the examples in a seeded shuffled order, a
 * new permutation every epoch, {@code rows} sequences per micro-batch, targets -1 everywhere but on assistant tokens
 * ({@link SftExample#target}).
 * <ul>
 *   <li>padding (default): one conversation per row, rows padded with {@code padId} (target -1) to the longest row of
 *       the micro-batch, so no conversation sees another;</li>
 *   <li>packing: whole conversations are appended to a row while they fit in seqLen + 1 tokens, rows padded as above.
 *       The batch carries each position's document start ({@link TokenBatch#docStarts}), so a conversation attends
 *       only to itself (sample masking, as the report's SFT) and MTP targets never cross into the next conversation;
 *       RoPE positions run on across them (attention scores depend only on relative positions).</li>
 * </ul>
 * The sequence length of a micro-batch is its longest row minus one (at least {@code minSeqLen}, e.g. MTP depth + 1).
 * The position ({@link #saveState}) is the epoch and the cursor in its permutation, as JSON.
 */
public final class SftBatchSource implements BatchSource<TokenBatch> {
    private final List<SftExample> examples;
    private final int rows, seqLen, minSeqLen, padId;
    private final boolean pack;
    private final long seed;
    private int[] perm;
    private long epoch;
    private int cursor;

    /**
     * @param seqLen    most input tokens per row (rows hold at most seqLen + 1 tokens)
     * @param minSeqLen least input length of a micro-batch (MTP needs more than its depth)
     */
    public SftBatchSource(List<SftExample> examples, int rows, int seqLen, int minSeqLen, int padId, boolean pack, long seed) {
        if (examples.isEmpty()) throw new IllegalArgumentException("no SFT examples");
        if (rows < 1 || seqLen < 1 || minSeqLen < 1 || minSeqLen > seqLen)
            throw new IllegalArgumentException("rows " + rows + ", seqLen " + seqLen + ", minSeqLen " + minSeqLen + " out of range");
        this.examples = List.copyOf(examples);
        this.rows = rows;
        this.seqLen = seqLen;
        this.minSeqLen = minSeqLen;
        this.padId = padId;
        this.pack = pack;
        this.seed = seed;
        for (SftExample e : examples)
            if (e.length() > seqLen + 1) throw new IllegalArgumentException("an example has " + e.length() + " tokens, more than seqLen + 1 = " + (seqLen + 1));
        setEpoch(0);
    }

    private void setEpoch(long e) {
        epoch = e;
        cursor = 0;
        perm = permutation(examples.size(), seed, e);
    }

    /** The order of epoch e: Fisher-Yates with a SplittableRandom seeded from (seed, e). */
    static int[] permutation(int n, long seed, long epoch) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch * 0xBF58476D1CE4E5B9L + 1);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i]; p[i] = p[j]; p[j] = t;
        }
        return p;
    }

    private SftExample peek() {
        if (cursor == perm.length) setEpoch(epoch + 1);
        return examples.get(perm[cursor]);
    }

    @Override public TokenBatch next() {
        List<List<SftExample>> rowList = new ArrayList<>(rows);
        int longest = 0;
        for (int r = 0; r < rows; r++) {
            List<SftExample> row = new ArrayList<>();
            int len = 0;
            do {
                SftExample e = peek();
                if (!row.isEmpty() && len + e.length() > seqLen + 1) break;
                row.add(e);
                len += e.length();
                cursor++;
            } while (pack && len < seqLen + 1);
            rowList.add(row);
            longest = Math.max(longest, len);
        }
        return batch(rowList, Math.max(longest - 1, minSeqLen), padId, pack);
    }

    /** Rows of concatenated examples as inputs/targets of T positions, padded; with document starts when {@code masked}. */
    static TokenBatch batch(List<List<SftExample>> rowList, int T, int padId, boolean masked) {
        int n = rowList.size();
        int[] in = new int[n * T], tg = new int[n * T];
        int[][] lengths = new int[n][];
        for (int r = 0; r < n; r++) lengths[r] = rowList.get(r).stream().mapToInt(SftExample::length).toArray();
        Arrays.fill(in, padId);
        Arrays.fill(tg, -1);
        for (int r = 0; r < n; r++) {
            int pos = 0;
            for (SftExample e : rowList.get(r)) {
                int[] t = e.tokens();
                for (int i = 0; i < t.length; i++, pos++) {
                    if (pos < T) in[r * T + pos] = t[i];
                    // position pos predicts the next token: within the example when i + 1 < length
                    if (pos < T && i + 1 < t.length) tg[r * T + pos] = e.target(i);
                }
            }
        }
        return new TokenBatch(n, T, in, tg, masked ? DocMask.fromLengths(lengths, T) : null);
    }

    /** Micro-batches of the examples in file order, padded, one conversation per row (for validation). */
    public static List<TokenBatch> inOrder(List<SftExample> examples, int rows, int minSeqLen, int padId, int maxBatches) {
        List<TokenBatch> out = new ArrayList<>();
        for (int i = 0; i < examples.size() && out.size() < maxBatches; i += rows) {
            List<List<SftExample>> rl = new ArrayList<>();
            int longest = 0;
            for (int j = i; j < Math.min(i + rows, examples.size()); j++) {
                rl.add(List.of(examples.get(j)));
                longest = Math.max(longest, examples.get(j).length());
            }
            out.add(batch(rl, Math.max(longest - 1, minSeqLen), padId, false));
        }
        return out;
    }

    @Override public int microBatchRows() { return rows; }

    @Override public long tokens(TokenBatch b) { return b.tokens(); }

    public long epoch() { return epoch; }

    @Override public byte[] saveState() {
        return SourcePosition.bytes("{\"epoch\":" + epoch + ",\"cursor\":" + cursor + ",\"examples\":" + examples.size()
                + ",\"pack\":" + pack + "}");
    }

    @Override public void restoreState(byte[] state) {
        JsonNode o = SourcePosition.read(state, "SFT data position");
        if (o == null || !o.path("epoch").canConvertToLong() || !o.path("cursor").canConvertToInt() || !o.path("examples").canConvertToInt())
            throw new FormatException("SFT data position in the checkpoint lacks epoch/cursor/examples: " + o);
        int n = o.get("examples").asInt();
        if (n != examples.size())
            throw new FormatException("the checkpoint was trained on " + n + " SFT examples, this data set has " + examples.size()
                    + " (same --data and --seq-len are needed to resume)");
        if (o.path("pack").asBoolean(false) != pack)
            throw new FormatException("the checkpoint was trained with" + (pack ? "out" : "") + " --pack; give the same setting to resume");
        int c = o.get("cursor").asInt();
        if (c < 0 || c > n) throw new FormatException("SFT data cursor " + c + " outside [0, " + n + "]");
        setEpoch(o.get("epoch").asLong());
        cursor = c;
    }
}
