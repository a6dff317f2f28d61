package jseekfixture.tensor;

import jseekfixture.model.Net;

/** A back-arrow on purpose (tensor uses model), for {@code dev.jseek.arch.LayeringTest}. */
public final class Codec {
    public static int width(Net n) { return n.width(); }
}
