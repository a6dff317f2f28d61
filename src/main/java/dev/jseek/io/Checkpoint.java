package dev.jseek.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Fp8;
import dev.jseek.tensor.Matrix;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A model directory of safetensors weights (docs/architecture.md §2.2, §2.3), opened as one name space. Which files:
 * {@code model.safetensors.index.json} when present (its {@code weight_map} lists every tensor's shard; a missing
 * shard or a tensor the index places in a shard that lacks it is an error; tensors a shard has beyond the index,
 * e.g. scales dropped from an index, are still visible), otherwise {@code model.safetensors}, otherwise every
 * {@code *.safetensors} in the directory. A path to a single .safetensors file also works. A tensor name present
 * in two files is an error.
 *
 * <p>{@link #matrix} gives zero-copy {@link Matrix} views of 2-D Linear weights [out, in] (F32, BF16, F16, FP8);
 * FP8 weights get their {@code <name>_scale_inv} F32 [ceil(out/128), ceil(in/128)] block scales attached.
 * {@link #floats} copies any float tensor into a {@code float[]} (norm weights, biases, small tensors). All
 * errors are {@link FormatException}s naming the file, tensor and values. Segments stay valid until {@link #close()}.
 */
public final class Checkpoint implements AutoCloseable, FileBacked {
    public static final String INDEX_FILE = "model.safetensors.index.json";
    public static final String SINGLE_FILE = "model.safetensors";
    /** Suffix of the FP8 block-scale tensor: {@code x.weight} -> {@code x.weight_scale_inv}. */
    public static final String SCALE_SUFFIX = "_scale_inv";

    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName; // sorted

    private Checkpoint(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.dir = dir;
        this.files = files;
        this.byName = byName;
    }

    /** Opens the model directory {@code dir} (or a single .safetensors file). */
    public static Checkpoint open(Path dir) {
        if (Files.isRegularFile(dir)) {
            SafetensorsFile f = SafetensorsFile.open(dir);
            return build(dir, List.of(f), null);
        }
        if (!Files.isDirectory(dir)) throw new FormatException(dir + ": no such checkpoint directory or file");
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) return openIndexed(dir, index);
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) return build(dir, List.of(SafetensorsFile.open(single)), null);
        List<Path> paths = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.safetensors")) {
            for (Path p : ds) if (Files.isRegularFile(p)) paths.add(p);
        } catch (IOException e) {
            throw new FormatException(dir + ": cannot list directory: " + e, e);
        }
        if (paths.isEmpty()) throw new FormatException(dir + ": no " + INDEX_FILE + ", " + SINGLE_FILE + " or *.safetensors file");
        Collections.sort(paths);
        return build(dir, openAll(paths), null);
    }

    private static Checkpoint openIndexed(Path dir, Path index) {
        JsonNode root;
        try {
            root = SafetensorsFile.JSON.readTree(Files.readAllBytes(index));
        } catch (JsonProcessingException e) {
            throw new FormatException(index + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new FormatException(index + ": cannot read: " + e, e);
        }
        JsonNode wm = root == null ? null : root.get("weight_map");
        if (wm == null || !wm.isObject()) throw new FormatException(index + ": missing object field 'weight_map'");
        Map<String, String> weightMap = new LinkedHashMap<>();
        Map<String, Path> shards = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : wm.properties()) {
            if (!e.getValue().isTextual())
                throw new FormatException(index + ": weight_map entry '" + e.getKey() + "' must be a file name, got " + e.getValue());
            String shard = e.getValue().asText();
            Path p = dir.resolve(shard).normalize();
            if (!p.startsWith(dir.normalize()) || shard.isEmpty())
                throw new FormatException(index + ": weight_map entry '" + e.getKey() + "' names a file outside the directory: '" + shard + "'");
            if (!Files.isRegularFile(p))
                throw new FormatException(index + ": shard '" + shard + "' (listed for tensor '" + e.getKey() + "') is missing");
            weightMap.put(e.getKey(), shard);
            shards.put(shard, p);
        }
        return build(dir, openAll(new ArrayList<>(shards.values())), weightMap);
    }

    private static List<SafetensorsFile> openAll(List<Path> paths) {
        List<SafetensorsFile> out = new ArrayList<>();
        try {
            for (Path p : paths) out.add(SafetensorsFile.open(p));
        } catch (RuntimeException e) {
            for (SafetensorsFile f : out) f.close();
            throw e;
        }
        return out;
    }

    private static Checkpoint build(Path dir, List<SafetensorsFile> files, Map<String, String> weightMap) {
        try {
            Map<String, SafetensorsFile> byName = new TreeMap<>();
            for (SafetensorsFile f : files) {
                for (String n : f.names()) {
                    SafetensorsFile prev = byName.put(n, f);
                    if (prev != null)
                        throw new FormatException(dir + ": tensor '" + n + "' is in both " + prev.path().getFileName() + " and " + f.path().getFileName());
                }
            }
            if (weightMap != null) {
                for (Map.Entry<String, String> e : weightMap.entrySet()) {
                    SafetensorsFile f = byName.get(e.getKey());
                    if (f == null || !f.path().getFileName().toString().equals(Path.of(e.getValue()).getFileName().toString()))
                        throw new FormatException(dir.resolve(INDEX_FILE) + ": tensor '" + e.getKey() + "' is listed in shard '" + e.getValue()
                                + "' but that shard does not contain it" + (f != null ? " (found in " + f.path().getFileName() + ")" : ""));
                }
            }
            return new Checkpoint(dir, List.copyOf(files), Collections.unmodifiableMap(byName));
        } catch (RuntimeException e) {
            for (SafetensorsFile f : files) f.close();
            throw e;
        }
    }

    /** The directory (or file) this checkpoint was opened from. */
    public Path dir() { return dir; }

    /** The opened safetensors files (shards), in name order. */
    public List<SafetensorsFile> files() { return files; }

    public boolean has(String name) { return byName.containsKey(name); }

    /** All tensor names, sorted. */
    public Set<String> names() { return byName.keySet(); }

    /** The tensor's dtype, shape and location; {@link FormatException} when absent. */
    public TensorInfo info(String name) { return file(name).info(name); }

    /** Zero-copy slice of the tensor's bytes. */
    public MemorySegment segment(String name) { return file(name).segment(name); }

    /** Merged {@code __metadata__} of all files. */
    public Map<String, String> metadata() {
        Map<String, String> m = new TreeMap<>();
        for (SafetensorsFile f : files) m.putAll(f.metadata());
        return m;
    }

    private SafetensorsFile file(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) throw new FormatException(dir + ": checkpoint has no tensor '" + name + "'");
        return f;
    }

    /** Name of the FP8 scale tensor of {@code weightName}: {@code weightName + "_scale_inv"}. */
    public static String scaleName(String weightName) { return weightName + SCALE_SUFFIX; }

    /**
     * A zero-copy view of the 2-D weight {@code name}, which must have shape [rows, cols] and dtype F32, BF16, F16,
     * F8_E4M3 or F8_E5M2. FP8 weights get {@code <name>_scale_inv} (F32, [ceil(rows/128), ceil(cols/128)]) attached
     * as {@link Matrix#scaleInv()}; a missing or mis-shaped scale is an error naming it.
     */
    public Matrix matrix(String name, int rows, int cols) {
        TensorInfo t = info(name);
        if (!t.hasShape(rows, cols))
            throw new FormatException(t.file() + ": tensor '" + name + "' has shape " + t.shapeString() + ", expected [" + rows + ", " + cols + "]");
        MemorySegment data = segment(name);
        return switch (t.dtype()) {
            case F32, BF16, F16 -> new Matrix(t.dtype(), rows, cols, data, null);
            case F8_E4M3, F8_E5M2 -> new Matrix(t.dtype(), rows, cols, data, scaleSegment(name, t, rows, cols));
            default -> throw new FormatException(t.file() + ": tensor '" + name + "' has dtype " + t.dtype()
                    + ", expected a weight dtype (F32, BF16, F16, F8_E4M3, F8_E5M2)");
        };
    }

    private MemorySegment scaleSegment(String name, TensorInfo w, int rows, int cols) {
        String sn = scaleName(name);
        if (!has(sn))
            throw new FormatException(w.file() + ": FP8 tensor '" + name + "' (" + w.dtype() + ") has no scale tensor '" + sn + "' in " + dir);
        TensorInfo s = info(sn);
        long sr = Matrix.scaleRows(rows), sc = Matrix.scaleCols(cols);
        if (s.dtype() != DType.F32 || !s.hasShape(sr, sc))
            throw new FormatException(s.file() + ": scale tensor '" + sn + "' is " + s.dtype() + " " + s.shapeString()
                    + ", expected F32 [" + sr + ", " + sc + "] for " + name + " [" + rows + ", " + cols + "]");
        return segment(sn);
    }

    /**
     * Copies tensor {@code name} into a new float[] (row-major), converting F32, F64, BF16, F16 or FP8 (2-D, with its
     * {@code _scale_inv} block scales applied: value = fp8 * scale in float). When {@code expectedShape} is given
     * (non-empty) the tensor's shape must equal it.
     */
    public float[] floats(String name, long... expectedShape) {
        TensorInfo t = info(name);
        if (expectedShape.length > 0 && !t.hasShape(expectedShape))
            throw new FormatException(t.file() + ": tensor '" + name + "' has shape " + t.shapeString() + ", expected "
                    + java.util.Arrays.toString(expectedShape));
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8)
            throw new FormatException(t.file() + ": tensor '" + name + "' " + t.shapeString() + " has " + n + " elements, too many for a float[]");
        MemorySegment seg = segment(name);
        float[] out = new float[(int) n];
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 0, out, 0, out.length);
            case F64 -> { for (int i = 0; i < out.length; i++) out[i] = (float) seg.getAtIndex(LE_F64, i); }
            case BF16 -> { for (int i = 0; i < out.length; i++) out[i] = Float.intBitsToFloat((seg.getAtIndex(LE_I16, i) & 0xFFFF) << 16); }
            case F16 -> { for (int i = 0; i < out.length; i++) out[i] = Float.float16ToFloat(seg.getAtIndex(LE_I16, i)); }
            case F8_E4M3, F8_E5M2 -> {
                if (t.rank() != 2)
                    throw new FormatException(t.file() + ": FP8 tensor '" + name + "' has shape " + t.shapeString() + ", expected 2-D (block scales)");
                if (t.dim(0) > Integer.MAX_VALUE || t.dim(1) > Integer.MAX_VALUE)
                    throw new FormatException(t.file() + ": FP8 tensor '" + name + "' " + t.shapeString() + " is too large");
                int rows = (int) t.dim(0), cols = (int) t.dim(1);
                MemorySegment sc = scaleSegment(name, t, rows, cols);
                int scols = Matrix.scaleCols(cols);
                float[] lut = t.dtype() == DType.F8_E4M3 ? Fp8.e4m3Table() : Fp8.e5m2Table();
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        long i = (long) r * cols + c;
                        float s = sc.getAtIndex(LE_F32, (long) (r / Matrix.BLOCK) * scols + c / Matrix.BLOCK);
                        out[(int) i] = lut[seg.get(ValueLayout.JAVA_BYTE, i) & 0xFF] * s;
                    }
                }
            }
            default -> throw new FormatException(t.file() + ": tensor '" + name + "' has dtype " + t.dtype() + ", expected a float dtype");
        }
        return out;
    }

    static final ValueLayout.OfFloat LE_F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble LE_F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort LE_I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** Unmaps every file; segments and matrices obtained from this checkpoint become invalid. */
    @Override public void checkUnchanged() { for (SafetensorsFile f : files) f.checkUnchanged(); }

    @Override public void close() { for (SafetensorsFile f : files) f.close(); }
}
