package dev.jseek.io;

import dev.jseek.tensor.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files: writes float32 arrays (format 1.0, {@code '<f4'}, C order, header padded to 64 bytes,
 * written atomically) and reads {@code f4}, {@code f8}, {@code i4}, {@code i8} arrays of either byte order and
 * format versions 1.0-3.0 (parity fixtures, test oracles). Fortran order, other dtypes and a data size that does
 * not match the shape are {@link FormatException}s naming the file.
 */
public final class Npy {
    private Npy() {}

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int MAX_HEADER = 1 << 20;
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /** Writes {@code data} with {@code shape} (product must equal data.length) as '<f4'. */
    public static void writeFloats(Path file, float[] data, long... shape) {
        byte[] header = header("<f4", shape, data.length, file);
        AtomicFiles.write(file, ch -> {
            AtomicFiles.writeFully(ch, ByteBuffer.wrap(header));
            ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < data.length; ) {
                b.clear();
                while (i < data.length && b.remaining() >= 4) b.putFloat(data[i++]);
                b.flip();
                AtomicFiles.writeFully(ch, b);
            }
        });
    }

    /** Writes {@code data} with {@code shape} as '<i4'. */
    public static void writeInts(Path file, int[] data, long... shape) {
        byte[] header = header("<i4", shape, data.length, file);
        ByteBuffer b = ByteBuffer.allocate(header.length + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(header);
        for (int v : data) b.putInt(v);
        AtomicFiles.write(file, b.array());
    }

    private static byte[] header(String descr, long[] shape, long n, Path file) {
        long count = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException(file + ": negative dim in shape " + Arrays.toString(shape));
            count *= d;
        }
        if (count != n) throw new IllegalArgumentException(file + ": shape " + Arrays.toString(shape) + " has " + count + " elements, data has " + n);
        StringBuilder s = new StringBuilder("{'descr': '").append(descr).append("', 'fortran_order': False, 'shape': (");
        for (int i = 0; i < shape.length; i++) s.append(shape[i]).append(i == 0 && shape.length == 1 ? "," : i + 1 < shape.length ? ", " : "");
        s.append("), }");
        int total = MAGIC.length + 2 + 2 + s.length() + 1;
        int pad = (64 - total % 64) % 64;
        s.append(" ".repeat(pad)).append('\n');
        byte[] dict = s.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 4 + dict.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) dict.length).put(dict);
        return b.array();
    }

    /** Reads a float32 array; checks the shape when {@code expectedShape} is given. */
    public static float[] readFloats(Path file, long... expectedShape) {
        NpyArray a = read(file);
        checkShape(file, a, expectedShape);
        if (a.dtype() != DType.F32) throw new FormatException(file + ": dtype is " + a.dtype() + ", expected float32");
        return a.floats();
    }

    /** Reads an int32 or int64 array (int64 values must fit in int); checks the shape when given. */
    public static int[] readInts(Path file, long... expectedShape) {
        NpyArray a = read(file);
        checkShape(file, a, expectedShape);
        if (a.dtype() == DType.I32) return a.ints();
        if (a.dtype() != DType.I64) throw new FormatException(file + ": dtype is " + a.dtype() + ", expected int32 or int64");
        long[] l = a.longs();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            if (l[i] != (int) l[i]) throw new FormatException(file + ": element " + i + " = " + l[i] + " does not fit in int32");
            out[i] = (int) l[i];
        }
        return out;
    }

    private static void checkShape(Path file, NpyArray a, long[] expected) {
        if (expected.length > 0 && !Arrays.equals(a.shape(), expected))
            throw new FormatException(file + ": shape " + Arrays.toString(a.shape()) + ", expected " + Arrays.toString(expected));
    }

    /** Reads any supported .npy file. */
    public static NpyArray read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            while (pre.hasRemaining() && ch.read(pre) >= 0) { /* fill */ }
            if (pre.position() < 10) throw new FormatException(file + ": not a .npy file (" + size + " bytes)");
            for (int i = 0; i < MAGIC.length; i++)
                if (pre.get(i) != MAGIC[i]) throw new FormatException(file + ": not a .npy file (bad magic)");
            int major = pre.get(6) & 0xFF;
            long hlen;
            int pos;
            if (major == 1) { hlen = pre.getShort(8) & 0xFFFF; pos = 10; }
            else if (major == 2 || major == 3) {
                if (pre.position() < 12) throw new FormatException(file + ": truncated .npy header");
                hlen = pre.getInt(8) & 0xFFFFFFFFL; pos = 12;
            } else throw new FormatException(file + ": unsupported .npy format version " + major + "." + (pre.get(7) & 0xFF));
            if (hlen > MAX_HEADER || pos + hlen > size)
                throw new FormatException(file + ": .npy header length " + hlen + " does not fit the file size " + size);
            ByteBuffer hb = ByteBuffer.allocate((int) hlen);
            ch.position(pos);
            while (hb.hasRemaining()) if (ch.read(hb) < 0) throw new FormatException(file + ": truncated .npy header");
            String h = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            Matcher md = DESCR.matcher(h), mf = FORTRAN.matcher(h), ms = SHAPE.matcher(h);
            if (!h.trim().startsWith("{") || !md.find() || !mf.find() || !ms.find())
                throw new FormatException(file + ": malformed .npy header: " + h.trim());
            if (mf.group(1).equals("True")) throw new FormatException(file + ": fortran_order True is not supported");
            String descr = md.group(1);
            ByteOrder order;
            switch (descr.isEmpty() ? ' ' : descr.charAt(0)) {
                case '<', '|' -> order = ByteOrder.LITTLE_ENDIAN;
                case '>' -> order = ByteOrder.BIG_ENDIAN;
                case '=' -> order = ByteOrder.nativeOrder();
                default -> throw new FormatException(file + ": unsupported dtype '" + descr + "'");
            }
            DType dtype = switch (descr.substring(1)) {
                case "f4" -> DType.F32;
                case "f8" -> DType.F64;
                case "i4" -> DType.I32;
                case "i8" -> DType.I64;
                default -> throw new FormatException(file + ": unsupported dtype '" + descr + "' (need f4, f8, i4 or i8)");
            };
            String dims = ms.group(1).trim();
            long[] shape = dims.isEmpty() ? new long[0]
                    : Arrays.stream(dims.split(",")).map(String::trim).filter(x -> !x.isEmpty()).mapToLong(x -> {
                        try {
                            long v = Long.parseLong(x.endsWith("L") ? x.substring(0, x.length() - 1) : x);
                            if (v < 0) throw new NumberFormatException();
                            return v;
                        } catch (NumberFormatException e) {
                            throw new FormatException(file + ": bad dim '" + x + "' in shape (" + dims + ")");
                        }
                    }).toArray();
            long count = 1;
            for (long d : shape) {
                try { count = Math.multiplyExact(count, d); } catch (ArithmeticException e) {
                    throw new FormatException(file + ": shape (" + dims + ") is too large");
                }
            }
            long dataBytes = size - pos - hlen;
            if (count > (Integer.MAX_VALUE - 8) || count * dtype.bytes != dataBytes)
                throw new FormatException(file + ": shape (" + dims + ") of " + descr + " needs " + (count > Integer.MAX_VALUE ? "too many" : count * dtype.bytes)
                        + " data bytes, file has " + dataBytes);
            ByteBuffer data = ByteBuffer.allocate((int) dataBytes).order(order);
            while (data.hasRemaining()) if (ch.read(data) < 0) throw new FormatException(file + ": truncated .npy data");
            data.flip();
            int n = (int) count;
            Object arr = switch (dtype) {
                case F32 -> { float[] a = new float[n]; data.asFloatBuffer().get(a); yield a; }
                case F64 -> { double[] a = new double[n]; data.asDoubleBuffer().get(a); yield a; }
                case I32 -> { int[] a = new int[n]; data.asIntBuffer().get(a); yield a; }
                default -> { long[] a = new long[n]; data.asLongBuffer().get(a); yield a; }
            };
            return new NpyArray(dtype, shape, arr);
        } catch (IOException e) {
            throw new FormatException(file + ": cannot read: " + e, e);
        }
    }

    /** True when {@code file} starts with the .npy magic. */
    public static boolean isNpy(Path file) {
        try (var in = Files.newInputStream(file)) {
            byte[] m = in.readNBytes(6);
            return Arrays.equals(m, MAGIC);
        } catch (IOException e) {
            return false;
        }
    }
}
