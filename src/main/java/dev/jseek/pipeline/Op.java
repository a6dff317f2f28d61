package dev.jseek.pipeline;

/**
 * One operation of a pipeline schedule on one rank (report §3.2.1). Compute operations name a micro-batch and a
 * stage (a contiguous piece of the model, {@link Schedule#stages()} of them from embedding to head):
 * <ul>
 *   <li>{@code F}: the stage's forward of micro-batch {@code mb};</li>
 *   <li>{@code B}: the input-gradient part of its backward (the W part is queued);</li>
 *   <li>{@code W}: the weight-gradient part of a backward whose B ran earlier on this rank;</li>
 *   <li>{@code FB}: an F&amp;B pair, the forward of ({@code mb}, {@code stage}) and the input-gradient backward of
 *       ({@code mb2}, {@code stage2}) overlapped (report Figure 4); its weight part is a W op like any other.</li>
 * </ul>
 * Communication operations move one micro-batch's tensor between ranks: {@code SEND}/{@code RECV} of the activation
 * entering stage {@code stage} ({@code grad} false), or of the gradient leaving stage {@code stage} backwards, i.e.
 * the gradient of stage {@code stage - 1}'s output ({@code grad} true); {@code peer} is the other rank. Consecutive
 * communication operations of a rank are posted as one batch.
 */
public record Op(Kind kind, int mb, int stage, int mb2, int stage2, boolean grad, int peer) {
    public enum Kind { F, B, W, FB, SEND, RECV }

    public static Op f(int mb, int stage) { return new Op(Kind.F, mb, stage, -1, -1, false, -1); }
    public static Op b(int mb, int stage) { return new Op(Kind.B, mb, stage, -1, -1, false, -1); }
    public static Op w(int mb, int stage) { return new Op(Kind.W, mb, stage, -1, -1, false, -1); }
    public static Op fb(int mbF, int stageF, int mbB, int stageB) { return new Op(Kind.FB, mbF, stageF, mbB, stageB, false, -1); }
    public static Op send(int mb, int stage, boolean grad, int peer) { return new Op(Kind.SEND, mb, stage, -1, -1, grad, peer); }
    public static Op recv(int mb, int stage, boolean grad, int peer) { return new Op(Kind.RECV, mb, stage, -1, -1, grad, peer); }

    public boolean isComm() { return kind == Kind.SEND || kind == Kind.RECV; }

    @Override public String toString() {
        return switch (kind) {
            case F, B, W -> kind + "" + mb + "@" + stage;
            case FB -> "F" + mb + "@" + stage + "&B" + mb2 + "@" + stage2;
            case SEND, RECV -> kind.name().toLowerCase(java.util.Locale.ROOT) + (grad ? "-grad " : "-act ") + mb + "@" + stage + (kind == Kind.SEND ? "->" : "<-") + peer;
        };
    }
}
