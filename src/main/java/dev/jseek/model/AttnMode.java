package dev.jseek.model;

/**
 * The two equivalent ways to compute MLA (docs/architecture.md §3.2, §3.3). A {@link KvCache} is built for one mode, because the two
 * cache different things.
 */
public enum AttnMode {
    /** "MHA mode": expand k/v per head through kv_b_proj; the cache holds per-head k [qk_head_dim] and v [v_head_dim]. */
    NAIVE,
    /** "MQA mode": absorb W_UK into the query and W_UV into the output; the cache holds the latent [c_kv_n ; k_pe]. */
    ABSORB;

    /** Parses "naive" or "absorb" (any case); null when neither. */
    public static AttnMode parse(String s) {
        for (AttnMode m : values()) if (m.name().equalsIgnoreCase(s)) return m;
        return null;
    }
}
