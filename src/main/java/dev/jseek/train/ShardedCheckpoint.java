package dev.jseek.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.io.AtomicFiles;
import dev.jseek.io.Checkpoint;
import dev.jseek.io.FormatException;
import dev.jseek.io.SafetensorsFile;
import dev.jseek.parallel.Communicator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Training checkpoints written by every rank of an expert-sharded run ({@link ExpertShard}, {@link ZeroShard}) or of a
 * pipeline whose ranks hold only their stages ({@link TrainModel#forUnits}), where no rank holds the whole model: the {@code step-N/} directory of {@link TrainCheckpoint} with, instead of one model,
 * optimizer and EMA file, one of each per rank:
 * <ul>
 *   <li>{@code model-rank-R-of-N.safetensors}, {@code optimizer-rank-R-of-N.safetensors} (metadata {@code step}) and
 *       {@code ema-rank-R-of-N.safetensors}: the tensors whose AdamW moments rank R holds ({@link ZeroShard#ownedTensors}),
 *       so each tensor of the model is in exactly one rank's files (with the MTP aliases of the tensors it holds);</li>
 *   <li>{@code model.safetensors.index.json}: every model tensor's file, so the directory opens with
 *       {@link Checkpoint#open} for inference like a 1-rank checkpoint;</li>
 *   <li>{@code manifest.json}: besides every file's size and CRC32C, {@code layout} (ranks, expert_parallel) and
 *       {@code shards}: per rank its three files and the tensors they hold.</li>
 * </ul>
 * Protocol: rank 0 creates {@code step-N.tmp/}; every rank writes its files there (each atomically: temp name, force,
 * rename); rank 0 reads the shards' headers, writes the index, {@code trainer_state.json}, {@code config.json} and
 * the manifest last, then renames the directory to {@code step-N/} (barriers between the phases). Every rank must
 * see the same directory (one machine, or a shared file system). {@link TrainCheckpoint#load} reads such a directory
 * into any layout by tensor name: N ranks, M ranks, or one.
 */
public final class ShardedCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ShardedCheckpoint() {}

    static String modelFile(int r, int n) { return "model-rank-" + r + "-of-" + n + ".safetensors"; }
    static String optimizerFile(int r, int n) { return "optimizer-rank-" + r + "-of-" + n + ".safetensors"; }
    static String emaFile(int r, int n) { return "ema-rank-" + r + "-of-" + n + ".safetensors"; }

    /** This rank's part of a checkpoint. */
    public record Part(TrainState state, float[] params, List<TrainTensor> owned, Map<String, String> aliases, AdamW shardOptimizer,
                       List<TrainTensor> shardTensors, float[] ema, String configJson) {}

    /** Collective: writes {@code root/step-<state.step>/} from every rank's part; returns that directory. */
    public static Path save(Communicator comm, Path root, Part p, int expertParallel) {
        long step = p.state().step();
        int r = comm.rank(), n = comm.size();
        Path fin = root.resolve(TrainCheckpoint.dirName(step)), tmp = root.resolve(TrainCheckpoint.dirName(step) + ".tmp");
        if (r == 0) {
            try {
                Files.createDirectories(root);
                TrainCheckpoint.deleteTree(tmp);
                Files.createDirectories(tmp);
            } catch (IOException e) {
                throw new FormatException(fin + ": cannot write checkpoint: " + e, e);
            }
        }
        comm.barrier();
        Map<String, String> aliases = new TreeMap<>();
        java.util.Set<String> mine = new java.util.HashSet<>();
        for (TrainTensor t : p.owned()) mine.add(t.name());
        for (var a : p.aliases().entrySet()) if (mine.contains(a.getValue())) aliases.put(a.getKey(), a.getValue());
        TrainCheckpoint.requireFinite(p.params(), p.owned(), "parameter");
        if (p.ema() != null) TrainCheckpoint.requireFinite(p.ema(), p.owned(), "EMA value");
        TrainCheckpoint.modelWriter(p.params(), p.owned(), aliases).metadata("format", "pt").write(tmp.resolve(modelFile(r, n)));
        TrainCheckpoint.optimizerWriter(p.shardOptimizer(), p.shardTensors()).write(tmp.resolve(optimizerFile(r, n)));
        FaultPoint.reach("checkpoint-write", step);
        if (p.ema() != null) TrainCheckpoint.modelWriter(p.ema(), p.owned(), aliases).write(tmp.resolve(emaFile(r, n)));
        comm.barrier();
        if (r == 0) {
            try {
                ObjectNode index = JSON.createObjectNode();
                ObjectNode wm = index.putObject("weight_map");
                ObjectNode layout = JSON.createObjectNode().put("ranks", n).put("expert_parallel", expertParallel);
                ArrayNode shards = JSON.createArrayNode();
                long total = 0;
                for (int q = 0; q < n; q++) {
                    ObjectNode s = shards.addObject().put("rank", q).put("model", modelFile(q, n)).put("optimizer", optimizerFile(q, n));
                    if (p.ema() != null) s.put("ema", emaFile(q, n));
                    ArrayNode names = s.putArray("tensors");
                    Path f = tmp.resolve(modelFile(q, n));
                    if (!Files.isRegularFile(f)) throw new FormatException(f + ": rank " + q + " did not write its shard");
                    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                        for (String t : new java.util.TreeSet<>(sf.names())) {
                            names.add(t);
                            wm.put(t, modelFile(q, n));
                        }
                    }
                    total += Files.size(f);
                }
                index.putObject("metadata").put("total_size", total);
                AtomicFiles.write(tmp.resolve(Checkpoint.INDEX_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(index));
                if (p.configJson() != null) AtomicFiles.write(tmp.resolve(TrainCheckpoint.CONFIG), p.configJson().getBytes(StandardCharsets.UTF_8));
                AtomicFiles.write(tmp.resolve(TrainCheckpoint.STATE), p.state().toJson());
                AtomicFiles.write(tmp.resolve(TrainCheckpoint.MANIFEST), TrainCheckpoint.manifest(tmp, step, m -> {
                    m.set("layout", layout);
                    m.set("shards", shards);
                }));
                TrainCheckpoint.commit(root, tmp, fin);
            } catch (IOException e) {
                throw new FormatException(fin + ": cannot write checkpoint: " + e, e);
            }
        }
        comm.barrier();
        return fin;
    }

    /**
     * The per-rank files of a sharded checkpoint's manifest (null for a 1-file checkpoint), checked against the
     * manifest's own fields: {@code layout.ranks} shards, one per rank, every file among {@code files}.
     */
    static List<JsonNode> shards(Path dir) {
        Path mf = dir.resolve(TrainCheckpoint.MANIFEST);
        JsonNode m;
        try {
            m = JSON.readTree(Files.readAllBytes(mf));
        } catch (IOException e) {
            throw new FormatException(mf + ": unreadable: " + e.getMessage(), e);
        }
        JsonNode sh = m.path("shards");
        if (sh.isMissingNode()) return null;
        int ranks = m.path("layout").path("ranks").asInt(-1);
        if (!sh.isArray() || sh.size() != ranks)
            throw new FormatException(mf + ": field shards has " + (sh.isArray() ? sh.size() : 0) + " entries, field layout.ranks says " + m.path("layout").path("ranks"));
        java.util.Set<String> files = new java.util.HashSet<>();
        for (JsonNode f : m.path("files")) files.add(f.path("name").asText());
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < sh.size(); i++) {
            JsonNode s = sh.get(i);
            if (s.path("rank").asInt(-1) != i) throw new FormatException(mf + ": field shards[" + i + "].rank is " + s.path("rank") + ", expected " + i);
            for (String k : List.of("model", "optimizer", "ema")) {
                if (k.equals("ema") && !s.has(k)) continue;
                if (!files.contains(s.path(k).asText("")))
                    throw new FormatException(mf + ": field shards[" + i + "]." + k + " names '" + s.path(k).asText("") + "', which field files does not list");
            }
            out.add(s);
        }
        return out;
    }
}
