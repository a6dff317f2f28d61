package dev.jseek.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.io.AtomicFiles;
import dev.jseek.io.Checkpoint;
import dev.jseek.io.FormatException;
import dev.jseek.io.SafetensorsWriter;
import dev.jseek.io.TensorInfo;
import dev.jseek.tensor.DType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Training checkpoints: one directory {@code step-N/} per saved step under a root directory, holding
 * <ul>
 *   <li>the model in the Hugging Face safetensors layout (docs/architecture.md §2.2), F32, including the expert routing biases
 *       ({@code mlp.gate.e_score_correction_bias}) and alias copies: {@code model.safetensors} (or shards plus
 *       {@code model.safetensors.index.json}) and {@code config.json} when a config is given, so the directory
 *       opens with {@link Checkpoint#open} for inference;</li>
 *   <li>{@code optimizer.safetensors}: {@link AdamW} moments {@code exp_avg.<name>} and {@code exp_avg_sq.<name>} per
 *       trainable tensor in their storage dtype (F32 or BF16);</li>
 *   <li>{@code ema.safetensors}: the parameter EMA with the model's tensor names (when the run keeps one);</li>
 *   <li>{@code trainer_state.json}: {@link TrainState} (steps, tokens, optimizer step, RNG, data position);</li>
 *   <li>{@code manifest.json}, written last: every other file with its size and CRC32C.</li>
 * </ul>
 * An expert-parallel run writes one model, optimizer and EMA file per rank instead ({@link ShardedCheckpoint}, with
 * {@code layout} and {@code shards} in the manifest); {@link #load} reads either form into any layout by tensor name.
 * Writing is atomic: everything goes to {@code step-N.tmp/}, each file is forced to disk, the directory is forced,
 * then renamed to {@code step-N/} and the root is forced. {@link #latest} returns the newest directory whose manifest
 * verifies, skipping incomplete or corrupted ones with a warning. {@link #prune} keeps the newest N.
 */
public final class TrainCheckpoint {
    public static final String MANIFEST = "manifest.json";
    public static final String STATE = "trainer_state.json";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String EMA = "ema.safetensors";
    public static final String CONFIG = "config.json";
    static final String MANIFEST_FORMAT = "jseek-train-checkpoint";
    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ValueLayout.OfFloat LE_F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final boolean NATIVE_LE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private TrainCheckpoint() {}

    /** What a checkpoint holds; {@code ema} and {@code configJson} may be null. */
    public record Contents(TrainState state, float[] params, List<TrainTensor> tensors, Map<String, String> aliases,
                           AdamW optimizer, float[] ema, String configJson) {}

    /** The directory name of step {@code step}. */
    public static String dirName(long step) { return "step-" + step; }

    /**
     * Writes {@code c} atomically as {@code root/step-<state.step>/} and returns that directory. Model tensors go in
     * shards of at most {@code maxShardBytes} (0 = one file). Refuses parameters or EMA values that are not finite.
     * An existing directory of the same step is replaced.
     */
    public static Path save(Path root, Contents c, long maxShardBytes) {
        long step = c.state().step();
        requireFinite(c.params(), c.tensors(), "parameter");
        if (c.ema() != null) requireFinite(c.ema(), c.tensors(), "EMA value");
        Path fin = root.resolve(dirName(step));
        Path tmp = root.resolve(dirName(step) + ".tmp");
        try {
            Files.createDirectories(root);
            deleteTree(tmp);
            Files.createDirectories(tmp);
            modelWriter(c.params(), c.tensors(), c.aliases()).metadata("format", "pt").writeCheckpoint(tmp, maxShardBytes);
            if (c.configJson() != null) AtomicFiles.write(tmp.resolve(CONFIG), c.configJson().getBytes(StandardCharsets.UTF_8));
            optimizerWriter(c.optimizer(), c.tensors()).write(tmp.resolve(OPTIMIZER));
            FaultPoint.reach("checkpoint-write", step);
            if (c.ema() != null) modelWriter(c.ema(), c.tensors(), c.aliases()).write(tmp.resolve(EMA));
            AtomicFiles.write(tmp.resolve(STATE), c.state().toJson());
            AtomicFiles.write(tmp.resolve(MANIFEST), manifest(tmp, step, m -> {}));
            commit(root, tmp, fin);
        } catch (IOException e) {
            throw new FormatException(fin + ": cannot write checkpoint: " + e, e);
        }
        return fin;
    }

    /** Forces {@code tmp}, renames it to {@code fin} (replacing an existing one) and forces the root. */
    static void commit(Path root, Path tmp, Path fin) throws IOException {
        forceDir(tmp);
        if (Files.exists(fin)) {
            Path old = fin.resolveSibling(fin.getFileName() + ".old");
            deleteTree(old);
            Files.move(fin, old);
            move(tmp, fin);
            deleteTree(old);
        } else {
            move(tmp, fin);
        }
        forceDir(root);
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    static void requireFinite(float[] a, List<TrainTensor> tensors, String what) {
        for (TrainTensor t : tensors)
            for (int i = t.offset(), to = t.offset() + t.size(); i < to; i++)
                if (!Float.isFinite(a[i]))
                    throw new IllegalStateException("refusing to checkpoint: " + what + " " + t.name() + "[" + (i - t.offset()) + "] = " + a[i]);
    }

    static SafetensorsWriter modelWriter(float[] values, List<TrainTensor> tensors, Map<String, String> aliases) {
        SafetensorsWriter w = new SafetensorsWriter();
        MemorySegment all = MemorySegment.ofArray(values);
        Map<String, TrainTensor> byName = new java.util.HashMap<>();
        for (TrainTensor t : tensors) {
            byName.put(t.name(), t);
            w.add(t.name(), DType.F32, t.longShape(), le(all, t.offset(), t.size(), DType.F32));
        }
        for (var a : aliases.entrySet()) {
            TrainTensor t = byName.get(a.getValue());
            if (t == null) throw new IllegalArgumentException("alias " + a.getKey() + " targets unknown tensor " + a.getValue());
            w.add(a.getKey(), DType.F32, t.longShape(), le(all, t.offset(), t.size(), DType.F32));
        }
        return w;
    }

    static SafetensorsWriter optimizerWriter(AdamW opt, List<TrainTensor> tensors) {
        SafetensorsWriter w = new SafetensorsWriter();
        w.metadata("step", Long.toString(opt.step()));
        AdamW.Config k = opt.config();
        w.metadata("beta1", Double.toString(k.beta1())).metadata("beta2", Double.toString(k.beta2()))
                .metadata("eps", Double.toString(k.eps())).metadata("weight_decay", Double.toString(k.weightDecay()));
        DType dt = opt.momentDType();
        for (TrainTensor t : tensors) {
            if (!t.trainable()) continue;
            w.add("exp_avg." + t.name(), dt, t.longShape(), le(opt.firstMoment(), t.offset(), t.size(), dt));
            w.add("exp_avg_sq." + t.name(), dt, t.longShape(), le(opt.secondMoment(), t.offset(), t.size(), dt));
        }
        return w;
    }

    /** Little-endian bytes of elements [offset, offset+n) of a float[]/short[] heap segment (zero-copy on LE machines). */
    private static MemorySegment le(MemorySegment arr, int offset, int n, DType dt) {
        MemorySegment s = arr.asSlice((long) offset * dt.bytes, (long) n * dt.bytes);
        if (NATIVE_LE) return s;
        MemorySegment out = MemorySegment.ofArray(new byte[n * dt.bytes]);
        if (dt == DType.F32) MemorySegment.copy(s, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, out, LE_F32, 0, n);
        else MemorySegment.copy(s, ValueLayout.JAVA_SHORT_UNALIGNED, 0, out, LE_I16, 0, n);
        return out;
    }

    // ---- manifest ----

    static byte[] manifest(Path dir, long step, Consumer<ObjectNode> extra) throws IOException {
        ObjectNode m = JSON.createObjectNode();
        m.put("format", MANIFEST_FORMAT);
        m.put("version", 1);
        m.put("step", step);
        extra.accept(m);
        ArrayNode files = m.putArray("files");
        List<Path> list;
        try (Stream<Path> s = Files.list(dir)) {
            list = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path p : list) {
            String name = p.getFileName().toString();
            if (name.equals(MANIFEST) || name.startsWith(".")) continue;
            files.addObject().put("name", name).put("bytes", Files.size(p)).put("crc32c", crc32cHex(p));
        }
        return (JSON.writeValueAsString(m) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** CRC32C of a file's bytes, 8 lowercase hex digits. */
    public static String crc32cHex(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (ch.read(buf) >= 0) {
                buf.flip();
                crc.update(buf);
                buf.clear();
            }
        }
        return HexFormat.of().toHexDigits((int) crc.getValue());
    }

    /**
     * Checks {@code dir} against its manifest: present, parseable, for this step, and every listed file present with
     * the recorded size and CRC32C. Throws {@link FormatException} naming the file and the mismatch.
     */
    public static void verify(Path dir) {
        Path mf = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(mf)) throw new FormatException(dir + ": no " + MANIFEST + " (incomplete checkpoint)");
        JsonNode m;
        try {
            m = JSON.readTree(Files.readAllBytes(mf));
        } catch (IOException e) {
            throw new FormatException(mf + ": unreadable or not valid JSON: " + e.getMessage(), e);
        }
        if (m == null || !MANIFEST_FORMAT.equals(m.path("format").asText()))
            throw new FormatException(mf + ": field format is not '" + MANIFEST_FORMAT + "'");
        Matcher dm = STEP_DIR.matcher(dir.getFileName().toString());
        if (dm.matches() && m.path("step").asLong(-1) != Long.parseLong(dm.group(1)))
            throw new FormatException(mf + ": field step is " + m.path("step") + ", directory says " + dm.group(1));
        JsonNode files = m.path("files");
        if (!files.isArray() || files.isEmpty()) throw new FormatException(mf + ": field files is missing or empty");
        boolean hasState = false;
        for (JsonNode f : files) {
            String name = f.path("name").asText("");
            if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith("."))
                throw new FormatException(mf + ": bad file name '" + name + "'");
            hasState |= name.equals(STATE);
            Path p = dir.resolve(name);
            try {
                if (!Files.isRegularFile(p)) throw new FormatException(p + ": listed in the manifest but missing");
                long size = Files.size(p);
                if (size != f.path("bytes").asLong(-1))
                    throw new FormatException(p + ": size " + size + " bytes, manifest says " + f.path("bytes"));
                String crc = crc32cHex(p);
                if (!crc.equals(f.path("crc32c").asText()))
                    throw new FormatException(p + ": CRC32C " + crc + ", manifest says " + f.path("crc32c").asText());
            } catch (IOException e) {
                throw new FormatException(p + ": cannot read: " + e, e);
            }
        }
        if (!hasState) throw new FormatException(mf + ": does not list " + STATE);
    }

    // ---- finding checkpoints ----

    /** The complete-looking {@code step-N} directories under {@code root} (no verification), oldest first. */
    public static List<Path> list(Path root) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(root)) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) if (Files.isDirectory(p) && STEP_DIR.matcher(p.getFileName().toString()).matches()) out.add(p);
        } catch (IOException e) {
            throw new FormatException(root + ": cannot list checkpoints: " + e, e);
        }
        out.sort(Comparator.comparingLong(TrainCheckpoint::stepOf));
        return out;
    }

    /** The step number of a {@code step-N} directory. */
    public static long stepOf(Path dir) {
        Matcher m = STEP_DIR.matcher(dir.getFileName().toString());
        if (!m.matches()) throw new IllegalArgumentException(dir + " is not a step-N checkpoint directory");
        return Long.parseLong(m.group(1));
    }

    /**
     * The newest checkpoint under {@code root} that verifies, or null when there is none. Each newer one that fails
     * verification is reported to {@code warn} with the reason.
     */
    public static Path latest(Path root, Consumer<String> warn) {
        List<Path> all = list(root);
        for (int i = all.size() - 1; i >= 0; i--) {
            try {
                verify(all.get(i));
                return all.get(i);
            } catch (FormatException e) {
                warn.accept("skipping checkpoint " + all.get(i) + ": " + e.getMessage());
            }
        }
        return null;
    }

    /** {@link #latest(Path, Consumer)} warning on standard error. */
    public static Path latest(Path root) {
        return latest(root, w -> System.err.println("jseek: warning: " + dev.jseek.io.Printable.escape(w)));
    }

    /**
     * Resolves what {@code --resume} names: a {@code step-N} directory (verified), or a root whose newest valid
     * checkpoint is taken. Throws {@link FormatException} when there is none.
     */
    public static Path resolve(Path path, Consumer<String> warn) {
        if (Files.isRegularFile(path.resolve(MANIFEST)) || STEP_DIR.matcher(path.getFileName().toString()).matches()) {
            verify(path);
            return path;
        }
        Path p = latest(path, warn);
        if (p == null) throw new FormatException(path + ": no valid checkpoint (step-N directory with a verified " + MANIFEST + ")");
        return p;
    }

    /**
     * Renames every {@code step-N} directory under {@code root} newer than {@code step} that fails verification to
     * {@code step-N.invalid} (reported to {@code warn}), so that a run resumed from an older checkpoint neither
     * counts them in {@link #prune} nor finds them again. Nothing is deleted.
     */
    public static void setAsideInvalidAfter(Path root, long step, Consumer<String> warn) {
        for (Path p : list(root)) {
            if (stepOf(p) <= step) continue;
            try {
                verify(p);
            } catch (FormatException e) {
                Path aside = root.resolve(p.getFileName() + ".invalid");
                try {
                    deleteTree(aside);
                    Files.move(p, aside);
                    warn.accept("moved invalid checkpoint " + p + " to " + aside + ": " + e.getMessage());
                } catch (IOException io) {
                    throw new FormatException(p + ": cannot move an invalid checkpoint aside: " + io, io);
                }
            }
        }
    }

    /**
     * Deletes all but the newest {@code keep} {@code step-N} directories, and leftover {@code .tmp}/{@code .old}
     * directories from interrupted writes. {@code keep <= 0} keeps everything.
     */
    public static void prune(Path root, int keep) {
        if (keep <= 0 || !Files.isDirectory(root)) return;
        List<Path> all = list(root);
        try {
            for (int i = 0; i < all.size() - keep; i++) deleteTree(all.get(i));
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, "step-*.{tmp,old}")) {
                for (Path p : ds) deleteTree(p);
            }
        } catch (IOException e) {
            throw new FormatException(root + ": cannot prune old checkpoints: " + e, e);
        }
    }

    // ---- reading ----

    /**
     * Loads a checkpoint into a run: parameters into {@code params} (every tensor of {@code tensors}, which must
     * be present as F32 with the same shape), the optimizer moments and step into {@code optimizer} (converting
     * between F32 and BF16 storage when the run's setting differs), and the EMA into {@code ema} (when given; a
     * checkpoint without EMA restarts it from the loaded parameters, reported to {@code warn}). Verifies the
     * manifest first. Returns the scalar state.
     */
    public static TrainState load(Path dir, float[] params, List<TrainTensor> tensors, AdamW optimizer, Ema ema, Consumer<String> warn) {
        verify(dir);
        Path sf = dir.resolve(STATE);
        TrainState state;
        try {
            state = TrainState.fromJson(Files.readAllBytes(sf), sf);
        } catch (IOException e) {
            throw new FormatException(sf + ": cannot read: " + e, e);
        }
        Matcher dm = STEP_DIR.matcher(dir.getFileName().toString());
        if (dm.matches() && Long.parseLong(dm.group(1)) != state.step())
            throw new FormatException(sf + ": field step is " + state.step() + ", directory says " + dm.group(1));
        List<JsonNode> shards = ShardedCheckpoint.shards(dir);
        try (Checkpoint ck = Checkpoint.open(dir)) {
            if (shards != null)                  // the index must agree with the manifest's per-rank tensor lists
                for (int i = 0; i < shards.size(); i++)
                    for (JsonNode n : shards.get(i).path("tensors")) {
                        String file = shards.get(i).path("model").asText();
                        if (!ck.has(n.asText()) || !ck.info(n.asText()).file().getFileName().toString().equals(file))
                            throw new FormatException(dir.resolve(file) + ": has no tensor '" + n.asText() + "', which " + MANIFEST
                                    + " field shards[" + i + "].tensors lists");
                    }
            for (TrainTensor t : tensors) readF32(ck, t.name(), t, params);
        }
        List<Path> optFiles = shards == null ? List.of(dir.resolve(OPTIMIZER)) : shards.stream().map(n -> dir.resolve(n.path("optimizer").asText())).toList();
        List<Checkpoint> opts = new ArrayList<>();
        try {
            for (Path f : optFiles) {
                Checkpoint ck = Checkpoint.open(f);
                opts.add(ck);
                String st = ck.metadata().get("step");
                if (st == null || !st.equals(Long.toString(state.optimizerStep())))
                    throw new FormatException(f + ": metadata step is " + st + ", " + STATE + " says " + state.optimizerStep());
            }
            for (TrainTensor t : tensors) {
                if (!t.trainable()) continue;
                Checkpoint ck = holder(opts, "exp_avg." + t.name(), dir, "optimizer");
                readMoment(ck, "exp_avg." + t.name(), t, optimizer.firstMoment(), optimizer.momentDType());
                readMoment(holder(opts, "exp_avg_sq." + t.name(), dir, "optimizer"), "exp_avg_sq." + t.name(), t, optimizer.secondMoment(), optimizer.momentDType());
            }
            optimizer.setStep(state.optimizerStep());
        } finally {
            for (Checkpoint ck : opts) ck.close();
        }
        if (ema != null) {
            List<Path> emaFiles = shards == null ? List.of(dir.resolve(EMA))
                    : shards.stream().filter(n -> n.has("ema")).map(n -> dir.resolve(n.path("ema").asText())).toList();
            float[] e = new float[params.length];
            if (!emaFiles.isEmpty() && Files.isRegularFile(emaFiles.getFirst())) {
                List<Checkpoint> es = new ArrayList<>();
                try {
                    for (Path f : emaFiles) es.add(Checkpoint.open(f));
                    for (TrainTensor t : tensors) readF32(holder(es, t.name(), dir, "ema"), t.name(), t, e);
                } finally {
                    for (Checkpoint ck : es) ck.close();
                }
                ema.restore(e, state.emaUpdates());
            } else {
                warn.accept(dir + ": has no " + EMA + "; the EMA restarts from the loaded parameters");
                ema.restore(params, 0);
            }
        }
        return state;
    }

    /** The file among {@code cks} that holds tensor {@code name}; a clear error naming the checkpoint when none does. */
    private static Checkpoint holder(List<Checkpoint> cks, String name, Path dir, String what) {
        for (Checkpoint ck : cks) if (ck.has(name)) return ck;
        throw new FormatException((cks.size() == 1 ? cks.getFirst().dir() : dir.resolve(MANIFEST) + " (field shards)") + ": no " + what
                + " file holds tensor '" + name + "'");
    }

    private static void readF32(Checkpoint ck, String name, TrainTensor t, float[] dst) {
        TensorInfo info = ck.info(name);
        if (info.dtype() != DType.F32 || !info.hasShape(t.longShape()))
            throw new FormatException(info.file() + ": tensor '" + name + "' is " + info.dtype() + " " + info.shapeString()
                    + ", expected F32 " + java.util.Arrays.toString(t.shape()));
        MemorySegment.copy(ck.segment(name), LE_F32, 0, dst, t.offset(), t.size());
    }

    private static void readMoment(Checkpoint ck, String name, TrainTensor t, MemorySegment dst, DType dstType) {
        TensorInfo info = ck.info(name);
        if ((info.dtype() != DType.F32 && info.dtype() != DType.BF16) || !info.hasShape(t.longShape()))
            throw new FormatException(info.file() + ": tensor '" + name + "' is " + info.dtype() + " " + info.shapeString()
                    + ", expected F32 or BF16 " + java.util.Arrays.toString(t.shape()));
        MemorySegment src = ck.segment(name);
        int n = t.size();
        long o = t.offset();
        if (info.dtype() == dstType) {
            if (dstType == DType.F32) MemorySegment.copy(src, LE_F32, 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, o * 4, n);
            else MemorySegment.copy(src, LE_I16, 0, dst, ValueLayout.JAVA_SHORT_UNALIGNED, o * 2, n);
        } else if (dstType == DType.F32) { // BF16 -> F32 (exact)
            for (int i = 0; i < n; i++)
                dst.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, o + i, AdamW.bf16(src.getAtIndex(LE_I16, i)));
        } else { // F32 -> BF16 (round to nearest even)
            for (int i = 0; i < n; i++)
                dst.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, o + i, SafetensorsWriter.toBf16(src.getAtIndex(LE_F32, i)));
        }
    }

    // ---- file system helpers ----

    private static void forceDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // some platforms cannot open or force a directory; the files themselves were forced
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
