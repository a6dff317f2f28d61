package dev.jseek.cli;

import dev.jseek.infer.SpeculativeGenerator;

/** The {@code --draft-tokens} value of {@code generate} and {@code bench decode}: MTP drafts per speculative step. */
final class DraftTokens {
    private DraftTokens() {}

    /** {@code k} when it is in 1..{@link SpeculativeGenerator#MAX_DRAFT_TOKENS}; else a user error naming the flag. */
    static int check(int k) {
        if (k < 1 || k > SpeculativeGenerator.MAX_DRAFT_TOKENS)
            throw new UserException("--draft-tokens must be in 1.." + SpeculativeGenerator.MAX_DRAFT_TOKENS + ", got " + k);
        return k;
    }
}
