package dev.jseek.parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The Open MPI 4 C API through FFM ({@code java.lang.foreign}; no JNI, no mpi.jar): {@code libmpi.so.40} opened with
 * {@code RTLD_GLOBAL} (Open MPI's plugins resolve symbols of libmpi), the predefined handles as the addresses of their
 * global objects ({@code ompi_mpi_comm_world}, {@code ompi_mpi_float}, {@code ompi_mpi_byte}; in Open MPI an
 * {@code MPI_Comm} or {@code MPI_Datatype} is a pointer to such an object), and one downcall handle per function.
 * Every wrapper throws {@link CommException} on a non-zero return code (with the default
 * {@code MPI_ERRORS_ARE_FATAL} handler Open MPI aborts the job before returning one). {@link MpiComm} is the only
 * user.
 */
final class Mpi {
    static final String LIBRARY = System.getProperty("jseek.mpi.library", "libmpi.so.40");
    static final int THREAD_SERIALIZED = 2;
    static final int ANY_SOURCE = -1;
    /** sizeof(MPI_Status) in Open MPI 4: MPI_SOURCE, MPI_TAG, MPI_ERROR, _cancelled (ints), _ucount (size_t). */
    static final long STATUS_BYTES = 24;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    private static final java.lang.foreign.AddressLayout P = ValueLayout.ADDRESS;

    final MemorySegment commWorld, floatType, byteType;
    private final MethodHandle initThread, initialized, finalizeH, commRank, commSize, commDup, ialltoallv, iallgatherv,
            ibcast, ibarrier, isend, irecv, test, iprobe, recv, abortH, alltoallv, allreduce;
    final MemorySegment opSum;

    private static Mpi instance;

    /** The bindings, loaded once; a clear error when Open MPI is not installed. */
    static synchronized Mpi get() {
        if (instance == null) instance = new Mpi();
        return instance;
    }

    private Mpi() {
        Arena global = Arena.global();
        SymbolLookup libc = LINKER.defaultLookup();
        try {
            MethodHandle dlopen = LINKER.downcallHandle(libc.find("dlopen").orElseThrow(), FunctionDescriptor.of(P, P, I));
            MemorySegment h = (MemorySegment) dlopen.invokeExact(global.allocateFrom(LIBRARY), 0x2 | 0x100); // RTLD_NOW | RTLD_GLOBAL
            if (h.address() == 0) throw new CommException("cannot load " + LIBRARY + " (Open MPI 4): install it with "
                    + "'apt-get install openmpi-bin libopenmpi-dev' (or set -Djseek.mpi.library=PATH)");
        } catch (CommException e) {
            throw e;
        } catch (Throwable t) {
            throw new CommException("cannot load " + LIBRARY + ": " + t, t);
        }
        SymbolLookup lib = SymbolLookup.libraryLookup(LIBRARY, global);
        commWorld = sym(lib, "ompi_mpi_comm_world");
        floatType = sym(lib, "ompi_mpi_float");
        byteType = sym(lib, "ompi_mpi_byte");
        opSum = sym(lib, "ompi_mpi_op_sum");
        initThread = fn(lib, "MPI_Init_thread", P, P, I, P);
        initialized = fn(lib, "MPI_Initialized", P);
        finalizeH = fn(lib, "MPI_Finalize");
        commRank = fn(lib, "MPI_Comm_rank", P, P);
        commSize = fn(lib, "MPI_Comm_size", P, P);
        commDup = fn(lib, "MPI_Comm_dup", P, P);
        ialltoallv = fn(lib, "MPI_Ialltoallv", P, P, P, P, P, P, P, P, P, P);
        iallgatherv = fn(lib, "MPI_Iallgatherv", P, I, P, P, P, P, P, P, P);
        ibcast = fn(lib, "MPI_Ibcast", P, I, P, I, P, P);
        ibarrier = fn(lib, "MPI_Ibarrier", P, P);
        isend = fn(lib, "MPI_Isend", P, I, P, I, I, P, P);
        irecv = fn(lib, "MPI_Irecv", P, I, P, I, I, P, P);
        test = fn(lib, "MPI_Test", P, P, P);
        iprobe = fn(lib, "MPI_Iprobe", I, I, P, P, P);
        recv = fn(lib, "MPI_Recv", P, I, P, I, I, P, P);
        abortH = fn(lib, "MPI_Abort", P, I);
        alltoallv = fn(lib, "MPI_Alltoallv", P, P, P, P, P, P, P, P, P);
        allreduce = fn(lib, "MPI_Allreduce", P, P, I, P, P, P);
    }

    private static MemorySegment sym(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new CommException(LIBRARY + " has no symbol " + name + " (not Open MPI 4?)"));
    }

    private static MethodHandle fn(SymbolLookup lib, String name, java.lang.foreign.MemoryLayout... args) {
        return LINKER.downcallHandle(sym(lib, name), FunctionDescriptor.of(I, args));
    }

    private static void check(int rc, String what) {
        if (rc != 0) throw new CommException(what + " failed with MPI error code " + rc);
    }

    private static RuntimeException wrap(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new CommException(t.toString(), t);
    }

    boolean initialized(Arena a) {
        MemorySegment flag = a.allocate(I);
        try { check((int) initialized.invokeExact(flag), "MPI_Initialized"); } catch (Throwable t) { throw wrap(t); }
        return flag.get(I, 0) != 0;
    }

    /** MPI_Init_thread(NULL, NULL, required, &provided); returns provided. */
    int initThread(int required, Arena a) {
        MemorySegment provided = a.allocate(I);
        try { check((int) initThread.invokeExact(MemorySegment.NULL, MemorySegment.NULL, required, provided), "MPI_Init_thread"); }
        catch (Throwable t) { throw wrap(t); }
        return provided.get(I, 0);
    }

    void finalizeMpi() {
        try { check((int) finalizeH.invokeExact(), "MPI_Finalize"); } catch (Throwable t) { throw wrap(t); }
    }

    int commRank(MemorySegment comm, Arena a) {
        MemorySegment r = a.allocate(I);
        try { check((int) commRank.invokeExact(comm, r), "MPI_Comm_rank"); } catch (Throwable t) { throw wrap(t); }
        return r.get(I, 0);
    }

    int commSize(MemorySegment comm, Arena a) {
        MemorySegment r = a.allocate(I);
        try { check((int) commSize.invokeExact(comm, r), "MPI_Comm_size"); } catch (Throwable t) { throw wrap(t); }
        return r.get(I, 0);
    }

    MemorySegment commDup(MemorySegment comm, Arena a) {
        MemorySegment out = a.allocate(P);
        try { check((int) commDup.invokeExact(comm, out), "MPI_Comm_dup"); } catch (Throwable t) { throw wrap(t); }
        return out.get(P, 0);
    }

    void ialltoallv(MemorySegment send, MemorySegment sc, MemorySegment sd, MemorySegment type, MemorySegment recv,
                    MemorySegment rc, MemorySegment rd, MemorySegment comm, MemorySegment req) {
        try { check((int) ialltoallv.invokeExact(send, sc, sd, type, recv, rc, rd, type, comm, req), "MPI_Ialltoallv"); }
        catch (Throwable t) { throw wrap(t); }
    }

    void alltoallv(MemorySegment send, MemorySegment sc, MemorySegment sd, MemorySegment type, MemorySegment recv,
                   MemorySegment rc, MemorySegment rd, MemorySegment comm) {
        try { check((int) alltoallv.invokeExact(send, sc, sd, type, recv, rc, rd, type, comm), "MPI_Alltoallv"); }
        catch (Throwable t) { throw wrap(t); }
    }

    void allreduceSum(MemorySegment send, MemorySegment recv, int count, MemorySegment comm) {
        try { check((int) allreduce.invokeExact(send, recv, count, floatType, opSum, comm), "MPI_Allreduce"); }
        catch (Throwable t) { throw wrap(t); }
    }

    void iallgatherv(MemorySegment send, int count, MemorySegment type, MemorySegment recv, MemorySegment counts,
                     MemorySegment displs, MemorySegment comm, MemorySegment req) {
        try { check((int) iallgatherv.invokeExact(send, count, type, recv, counts, displs, type, comm, req), "MPI_Iallgatherv"); }
        catch (Throwable t) { throw wrap(t); }
    }

    void ibcast(MemorySegment buf, int count, MemorySegment type, int root, MemorySegment comm, MemorySegment req) {
        try { check((int) ibcast.invokeExact(buf, count, type, root, comm, req), "MPI_Ibcast"); } catch (Throwable t) { throw wrap(t); }
    }

    void ibarrier(MemorySegment comm, MemorySegment req) {
        try { check((int) ibarrier.invokeExact(comm, req), "MPI_Ibarrier"); } catch (Throwable t) { throw wrap(t); }
    }

    void isend(MemorySegment buf, int count, MemorySegment type, int dest, int tag, MemorySegment comm, MemorySegment req) {
        try { check((int) isend.invokeExact(buf, count, type, dest, tag, comm, req), "MPI_Isend"); } catch (Throwable t) { throw wrap(t); }
    }

    void irecv(MemorySegment buf, int count, MemorySegment type, int src, int tag, MemorySegment comm, MemorySegment req) {
        try { check((int) irecv.invokeExact(buf, count, type, src, tag, comm, req), "MPI_Irecv"); } catch (Throwable t) { throw wrap(t); }
    }

    /** MPI_Test on the request at {@code req}; true when complete (the request is then MPI_REQUEST_NULL). */
    boolean test(MemorySegment req, MemorySegment flag) {
        try { check((int) test.invokeExact(req, flag, MemorySegment.NULL), "MPI_Test"); } catch (Throwable t) { throw wrap(t); }
        return flag.get(I, 0) != 0;
    }

    /** MPI_Iprobe(source, tag, comm): true when a message is waiting; its source and tag are in {@code status}. */
    boolean iprobe(int source, int tag, MemorySegment comm, MemorySegment flag, MemorySegment status) {
        try { check((int) iprobe.invokeExact(source, tag, comm, flag, status), "MPI_Iprobe"); } catch (Throwable t) { throw wrap(t); }
        return flag.get(I, 0) != 0;
    }

    void recv(MemorySegment buf, int count, MemorySegment type, int src, int tag, MemorySegment comm) {
        try { check((int) recv.invokeExact(buf, count, type, src, tag, comm, MemorySegment.NULL), "MPI_Recv"); } catch (Throwable t) { throw wrap(t); }
    }

    void abort(MemorySegment comm, int code) {
        try { int rc = (int) abortH.invokeExact(comm, code); } catch (Throwable t) { throw wrap(t); }
    }

    /** setenv(name, value, overwrite = 0) in the C environment Open MPI reads at init. */
    static void setenvIfUnset(String name, String value) {
        try (Arena a = Arena.ofConfined()) {
            MethodHandle setenv = LINKER.downcallHandle(LINKER.defaultLookup().find("setenv").orElseThrow(), FunctionDescriptor.of(I, P, P, I));
            int rc = (int) setenv.invokeExact(a.allocateFrom(name), a.allocateFrom(value), 0);
        } catch (Throwable t) {
            throw wrap(t);
        }
    }
}
