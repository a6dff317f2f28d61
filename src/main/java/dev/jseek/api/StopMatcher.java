package dev.jseek.api;

import java.util.List;

/**
 * Cuts streamed text at the first stop string (OpenAI's {@code stop}): text is pushed as it is decoded and only
 * the part that can no longer begin a stop string is released, so a client never sees the start of a stop string
 * that then completes. The first push that completes a stop string releases the text before its leftmost
 * occurrence and ends the stream; the stop string itself is never released. A surrogate pair is never split.
 * Without stop strings every push is released whole. Not thread-safe (one per generation).
 */
public final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    public StopMatcher(List<String> stops) {
        for (String s : stops) if (s.isEmpty()) throw new IllegalArgumentException("empty stop string");
        this.stops = List.copyOf(stops);
    }

    /** True once a stop string has been seen: nothing more will be released. */
    public boolean stopped() { return stopped; }

    /** Adds decoded text; returns what is now safe to show (possibly empty). */
    public String push(String text) {
        if (stopped) return "";
        if (stops.isEmpty()) return text;
        pending.append(text);
        int cut = -1;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        if (cut >= 0) {
            stopped = true;
            String out = pending.substring(0, cut);
            pending.setLength(0);
            return out;
        }
        int emit = pending.length() - heldBack();
        if (emit > 0 && Character.isHighSurrogate(pending.charAt(emit - 1))) emit--;
        String out = pending.substring(0, emit);
        pending.delete(0, emit);
        return out;
    }

    /** Ends the stream: releases what was held back (nothing if a stop string was seen). */
    public String finish() {
        String out = stopped ? "" : pending.toString();
        pending.setLength(0);
        return out;
    }

    /** Length of the longest suffix of the pending text that is a proper prefix of some stop string. */
    private int heldBack() {
        int n = pending.length(), best = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, n); k > best; k--) {
                if (startsAt(n - k, s, k)) { best = k; break; }
            }
        }
        return best;
    }

    /** Whether pending[from, from + k) equals s[0, k). */
    private boolean startsAt(int from, String s, int k) {
        for (int i = 0; i < k; i++) if (pending.charAt(from + i) != s.charAt(i)) return false;
        return true;
    }
}
