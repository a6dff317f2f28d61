package jseekfixture.model;

import jseekfixture.tensor.Codec;

/** Uses tensor, which uses model: a cycle on purpose, for {@code dev.jseek.arch.LayeringTest}. */
public final class Net {
    public int width() { return 4; }

    public int twice() { return 2 * Codec.width(this); }
}
