package dev.jseek.tokenizer;

import java.util.Arrays;

/** A growable int array (no boxing); the tokenizer's output buffer. */
final class IntList {
    int[] a;
    int size;

    IntList(int capacity) { a = new int[Math.max(4, capacity)]; }

    void add(int v) {
        if (size == a.length) a = Arrays.copyOf(a, a.length * 2);
        a[size++] = v;
    }

    void addAll(int[] v, int off, int len) {
        if (size + len > a.length) a = Arrays.copyOf(a, Math.max(a.length * 2, size + len));
        System.arraycopy(v, off, a, size, len);
        size += len;
    }

    int[] toArray() { return Arrays.copyOf(a, size); }

    void clear() { size = 0; }
}
