package dev.jseek.pipeline;

/**
 * Execution times of one stage's chunk (report §3.2.1, Table 2's notation): {@code f} the forward, {@code b} the
 * whole backward (input and weight gradients), {@code w} its weight-gradient part, {@code fb} an F&amp;B pair (the
 * forward of one micro-batch overlapped with the whole backward of another; {@code f + b} without overlap), and
 * {@code comm} the latency of one transfer between ranks. A schedule's ops cost: F = f, B (input part) = b - w,
 * W = w, FB = fb - w (its W is a separate op).
 */
public record Costs(double f, double b, double w, double fb, double comm) {
    public Costs {
        if (!(f > 0) || !(b > 0) || !(w >= 0) || !(w < b) || !(fb > 0) || !(fb > w) || !(comm >= 0))
            throw new IllegalArgumentException("pipeline costs need f, b, fb > 0, 0 <= w < b, fb > w, comm >= 0; got " + this);
    }

    /** No overlap inside an F&amp;B pair and no communication latency. */
    public static Costs of(double f, double b, double w) { return new Costs(f, b, w, f + b, 0); }

    public Costs withFb(double fb) { return new Costs(f, b, w, fb, comm); }

    public Costs withComm(double comm) { return new Costs(f, b, w, fb, comm); }

    /** The duration of one compute op. */
    public double of(Op op) {
        return switch (op.kind()) {
            case F -> f;
            case B -> b - w;
            case W -> w;
            case FB -> fb - w;
            case SEND, RECV -> 0;
        };
    }
}
