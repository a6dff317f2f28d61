package dev.jseek.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The benchmark peer: OpenBLAS's {@code cblas_sgemm} through FFM (benchmark code only; jseek itself never calls
 * native code). Loads {@code /usr/lib/x86_64-linux-gnu/libopenblas.so.0} (Debian's libopenblas0) or the path
 * given. {@link #load} returns null with a reason when the library is missing.
 */
public final class OpenBlas {
    public static final String DEFAULT_PATH = "/usr/lib/x86_64-linux-gnu/libopenblas.so.0";
    static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

    private final MethodHandle sgemm, setThreads, coreName, config;
    final String path;

    private OpenBlas(String path, SymbolLookup lib) {
        this.path = path;
        Linker l = Linker.nativeLinker();
        ValueLayout I = ValueLayout.JAVA_INT, F = ValueLayout.JAVA_FLOAT, P = ValueLayout.ADDRESS;
        sgemm = l.downcallHandle(find(lib, "cblas_sgemm"),
                FunctionDescriptor.ofVoid(I, I, I, I, I, I, F, P, I, P, I, F, P, I));
        setThreads = l.downcallHandle(find(lib, "openblas_set_num_threads"), FunctionDescriptor.ofVoid(I));
        coreName = l.downcallHandle(find(lib, "openblas_get_corename"), FunctionDescriptor.of(P));
        config = l.downcallHandle(find(lib, "openblas_get_config"), FunctionDescriptor.of(P));
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new IllegalStateException("symbol " + name + " not found"));
    }

    /** Holder for the reason {@link #load} failed. */
    static String lastError;

    /**
     * Loads OpenBLAS from {@code path}. When {@code coreType} is not null, sets the environment variable
     * OPENBLAS_CORETYPE (through libc setenv, before the library initializes) so a DYNAMIC_ARCH build uses that
     * kernel set. Returns null (and sets {@link #lastError}) when the library cannot be loaded.
     */
    static OpenBlas load(String path, String coreType) {
        if (!Files.exists(Path.of(path))) {
            lastError = "OpenBLAS not found at " + path + " (Debian: apt-get install libopenblas0)";
            return null;
        }
        try {
            if (coreType != null) setenv("OPENBLAS_CORETYPE", coreType);
            SymbolLookup lib = SymbolLookup.libraryLookup(Path.of(path), Arena.global());
            return new OpenBlas(path, lib);
        } catch (Throwable t) {
            lastError = "could not load OpenBLAS from " + path + ": " + t;
            return null;
        }
    }

    private static void setenv(String name, String value) throws Throwable {
        Linker l = Linker.nativeLinker();
        MethodHandle h = l.downcallHandle(l.defaultLookup().find("setenv").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        try (Arena a = Arena.ofConfined()) {
            int rc = (int) h.invokeExact(a.allocateFrom(name), a.allocateFrom(value), 1);
            if (rc != 0) throw new IllegalStateException("setenv " + name + " failed");
        }
    }

    void setThreads(int n) {
        try {
            setThreads.invokeExact(n);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    String coreName() { return string(coreName); }

    String config() { return string(config); }

    private static String string(MethodHandle h) {
        try {
            MemorySegment p = (MemorySegment) h.invokeExact();
            return p.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return "?";
        }
    }

    /** Row-major C[m, n] = alpha op(A) op(B) + beta C on native segments. */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, int lda,
               MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        try {
            sgemm.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, alpha,
                    a, lda, b, ldb, beta, c, ldc);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
