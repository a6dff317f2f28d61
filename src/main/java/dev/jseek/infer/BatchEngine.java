package dev.jseek.infer;

import dev.jseek.kernels.Gemm;
import dev.jseek.model.BlockPool;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Continuous batching over one model: every submitted {@link GenerationRequest} becomes a sequence with its own
 * paged MLA latent cache ({@link KvCache#paged} over a {@link BlockPool} with a memory budget), and one scheduler
 * thread runs the model for all of them. Each iteration of its loop:
 * <ol>
 *   <li>admits waiting requests (in arrival order) while the batch has room and the pool has the blocks for the
 *       prompt plus its maximum of new tokens; otherwise they wait (reserving up front means a running sequence
 *       never runs out of cache). With the prefix cache on, a prompt starting with known chunks reuses their
 *       blocks ({@link PrefixCache});</li>
 *   <li>prefills the next chunks of the admitted prompts ({@link EngineOptions#prefillChunk} tokens at absolute chunk
 *       boundaries), in admission order, up to {@link EngineOptions#prefillTokens} tokens, stacked as rows of one
 *       forward ({@link DeepSeekV3#forwardStackedHidden}: attention per chunk against its own cache, each MoE expert's
 *       weights read once for all rows); the chunk holding the last prompt token gives its first token. With
 *       prefillTokens 0, one chunk of one prompt per step;</li>
 *   <li>runs one decode step over the newest token of every decoding sequence: one forward of M rows
 *       ({@link DeepSeekV3#forwardBatchHidden}; M-row Linear layers, the MoE grouping rows by expert, each sequence's
 *       attention against its own cache), then samples each row with its sequence's own {@link Sampler}.</li>
 * </ol>
 * New requests thus join at a token boundary, and waiting prompts delay running streams by at most prefillTokens
 * prompt tokens per step. The decode rows run in their own forward, not in the prefill's: a decode row must be summed
 * the way a one-token decode sums it (GEMV-sized products), which a product over the prefill's rows would not do.
 *
 * <p><b>Batch invariance.</b> A request's tokens are the same whether it runs alone or beside others, greedy or
 * seeded: a decode row is bitwise independent of the other rows (see {@link DeepSeekV3#forwardBatchHidden}; decode
 * forwards take at most {@link Gemm#GEMV_MAX_M} rows), prefill chunks are computed at fixed boundaries and
 * stacked chunks give bitwise a chunk's own forward (so a prefix-cache hit gives the very cache rows the request
 * would have computed; {@code StackedPrefillTest}), and each sequence
 * samples from its own seeded random stream. {@code BatchEngineTest} checks it.
 *
 * <p>Thread-safe: {@link #submit} from any thread; events are read from the returned {@link Generation}.
 */
public final class BatchEngine implements AutoCloseable {
    /** The admission queue is full: try again later. */
    public static final class QueueFullException extends RuntimeException {
        public QueueFullException(String message) { super(message); }
    }

    /**
     * The request can never be admitted: it needs more latent cache than one request may reserve ({@link CacheBudget}).
     * {@link #param()} names what to change: "prompt" (even the prompt does not fit) or "max_tokens".
     */
    public static final class CacheTooSmallException extends IllegalArgumentException {
        private final String param;

        public CacheTooSmallException(String param, String message) {
            super(message);
            this.param = param;
        }

        public String param() { return param; }
    }

    /** A snapshot of the engine's state and counters. */
    public record Stats(int queued, int active, int lastBatch, int peakBatch, int blocksUsed, int blocksTotal, int blockTokens,
                        int prefixEntries, long tokensGenerated, long promptTokensComputed, long promptTokensReused,
                        long decodeSteps, long prefillChunks, long drafted, long accepted, long prefillForwards) {}

    /**
     * Where the speculative drafts come from: the MTP argmax by default. Tests substitute one to force accepted and
     * rejected drafts.
     */
    interface Drafts {
        /**
         * @param r the sequence's request
         * @param index the output index of the token the draft guesses (tokens emitted so far)
         * @param mtpArgmax the MTP module's argmax for it
         */
        int draft(GenerationRequest r, int index, int mtpArgmax);
    }

    private static final class Seq {
        final Generation g;
        final int[] prompt;
        final int capacity;
        final Sampler sampler;
        int[] blocks;
        KvCache cache;
        int pos;              // prefill: prompt tokens cached so far; decode: where `last` goes
        int emitted;
        int last = -1;
        boolean decoding;
        PrefixCache.Entry lastEntry;
        // speculative decoding (see decodeSpeculative): the MTP module's cache (the pool's last layer of the same
        // blocks, position p in slot p + 1), the main hidden state at the last prefilled position, the MTP pairs not
        // yet run (hidden rows and the tokens after them) from MTP position mtpPos, and this step's draft (-1 none)
        KvCache mtpCache;
        float[] prevHidden;
        float[] pendH = new float[0];
        int[] pendTok = new int[0];
        int mtpPos, draft = -1;

        Seq(Generation g, int capacity) {
            this.g = g;
            this.prompt = g.request.prompt();
            this.capacity = capacity;
            this.sampler = g.request.sampler();
        }
    }

    private final DeepSeekV3 model;
    private final EngineOptions options;
    private final BlockPool pool;
    private final PrefixCache prefix;
    private final CacheBudget budget;
    private final int vocab, context, rowsPerForward, mainLayers, dim;
    private final boolean speculative, stackPrefill;
    private final int prefillTokens;
    private final Drafts drafts;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Seq> waiting = new ArrayDeque<>();
    private final List<Seq> active = new ArrayList<>();
    private final Thread thread;
    private volatile boolean closed;
    private volatile int activeCount, lastBatch, peakBatch;
    private final AtomicLong tokens = new AtomicLong(), promptComputed = new AtomicLong(), promptReused = new AtomicLong(),
            decodeSteps = new AtomicLong(), prefillChunks = new AtomicLong(), prefillForwards = new AtomicLong(), drafted = new AtomicLong(), accepted = new AtomicLong();

    /** Starts the scheduler thread over {@code model} (not owned: close it after this engine). */
    public BatchEngine(DeepSeekV3 model, EngineOptions options) { this(model, options, (r, index, mtpArgmax) -> mtpArgmax); }

    /** As {@link #BatchEngine(DeepSeekV3, EngineOptions)} with drafts from {@code drafts} (speculative decoding). */
    BatchEngine(DeepSeekV3 model, EngineOptions options, Drafts drafts) {
        if (options.speculative() && !model.hasMtp())
            throw new IllegalArgumentException("speculative decoding needs the model's MTP module, and this model has none "
                    + "(num_nextn_predict_layers = " + model.config.numNextnPredictLayers() + ", tensors model.layers."
                    + model.config.numHiddenLayers() + ".* " + (model.config.numNextnPredictLayers() > 0 ? "absent" : "not expected")
                    + "); serve without --speculative");
        if (options.speculative() && Gemm.GEMV_MAX_M < 4)
            throw new IllegalArgumentException("speculative decoding in the batch engine needs jseek.gemvMaxM >= 4 (a sequence's "
                    + "rows must share one forward), got " + Gemm.GEMV_MAX_M);
        this.model = model;
        this.options = options;
        this.drafts = drafts;
        this.speculative = options.speculative();
        this.mainLayers = model.layers.length;
        this.dim = model.config.hiddenSize();
        int layers = mainLayers + (speculative ? 1 : 0);
        this.pool = new BlockPool(model.config, layers, options.blockTokens(),
                BlockPool.blocksFor(model.config, layers, options.blockTokens(), options.cacheBytes()));
        this.prefix = options.prefixCache() ? new PrefixCache(pool, options.prefillChunk()) : null;
        this.budget = new CacheBudget(pool, options.maxRequestBytes(), model.config.maxPositionEmbeddings());
        this.vocab = model.config.vocabSize();
        this.context = model.config.maxPositionEmbeddings();
        this.rowsPerForward = Math.min(options.maxBatch(), Math.max(1, Gemm.GEMV_MAX_M));
        this.prefillTokens = options.prefillTokens();
        this.stackPrefill = prefillTokens > 0 && model.canStackPrefill(options.prefillChunk());
        this.thread = new Thread(this::loop, "jseek-engine");
        thread.setDaemon(true);
        thread.start();
    }

    public EngineOptions options() { return options; }

    /** Whether prefill stacks several chunks in one forward ({@link EngineOptions#prefillTokens} > 0 and the model can). */
    public boolean stacksPrefill() { return stackPrefill; }

    public BlockPool pool() { return pool; }

    /** Positions the pool can hold in all. */
    public long cacheTokens() { return (long) pool.capacity * pool.blockTokens; }

    /** The accounting every cache limit uses: what a request reserves and the most it may. */
    public CacheBudget budget() { return budget; }

    /**
     * Queues a generation. Throws {@link CacheTooSmallException} when its prompt plus its maximum of new tokens
     * needs more cache than one request may reserve ({@link CacheBudget#check}; the message names the numbers),
     * {@link QueueFullException} when {@link EngineOptions#maxBatch} sequences run and
     * {@link EngineOptions#maxQueue} wait already, IllegalArgumentException for ids outside the vocabulary or a
     * prompt that fills the context, IllegalStateException after {@link #close}. The maximum of new tokens is cut
     * to what the context can hold. A request that fits waits in the queue while the pool's free blocks are fewer
     * than it reserves.
     */
    public Generation submit(GenerationRequest r) {
        return submitAll(List.of(r)).get(0);
    }

    /**
     * Queues several generations at once, as {@link #submit} each: they enter the waiting queue in one step, so the
     * scheduler admits them together (as many as {@link EngineOptions#maxBatch} and the pool allow) rather than
     * one step apart. None is queued when one is refused.
     */
    public List<Generation> submitAll(List<GenerationRequest> rs) {
        List<Seq> seqs = new ArrayList<>(rs.size());
        for (GenerationRequest r : rs) seqs.add(checked(r));
        lock.lock();
        try {
            if (closed) throw new IllegalStateException("the engine is shut down");
            if (waiting.size() + activeCount + seqs.size() > options.maxBatch() + options.maxQueue())
                throw new QueueFullException(activeCount + " requests are running and " + waiting.size()
                        + " waiting (the most this server queues); try again shortly");
            waiting.addAll(seqs);
            work.signal();
        } finally {
            lock.unlock();
        }
        List<Generation> out = new ArrayList<>(seqs.size());
        for (Seq s : seqs) out.add(s.g);
        return out;
    }

    /** The checks of {@link #submit} that need no lock; the request's sequence, not yet queued. */
    private Seq checked(GenerationRequest r) {
        int[] prompt = r.prompt();
        for (int i = 0; i < prompt.length; i++)
            if (prompt[i] < 0 || prompt[i] >= vocab)
                throw new IllegalArgumentException("prompt token " + i + " is " + prompt[i] + ", outside the vocabulary 0.." + (vocab - 1));
        if (prompt.length >= context)
            throw new IllegalArgumentException("the prompt is " + prompt.length + " tokens; the model's context is " + context
                    + " tokens, which leaves no room for a completion");
        budget.check(prompt.length, r.maxNewTokens());
        int capacity = budget.positions(prompt.length, r.maxNewTokens());
        return new Seq(new Generation(r), capacity);
    }

    /** Submits and collects the tokens (a blocking convenience; the events are consumed here). */
    public int[] generate(GenerationRequest r) throws InterruptedException {
        Generation g = submit(r);
        int[] out = new int[16];
        int n = 0;
        while (true) {
            Generation.Event e = g.take();
            if (e instanceof Generation.Token t) {
                if (n == out.length) out = Arrays.copyOf(out, 2 * n);
                out[n++] = t.id();
            } else {
                Generation.End end = (Generation.End) e;
                if (end.error() != null) throw end.error();
                return Arrays.copyOf(out, n);
            }
        }
    }

    public Stats stats() {
        int q;
        lock.lock();
        try {
            q = waiting.size();
        } finally {
            lock.unlock();
        }
        return new Stats(q, activeCount, lastBatch, peakBatch, pool.usedBlocks(), pool.capacity, pool.blockTokens,
                prefix == null ? 0 : prefixSize, tokens.get(), promptComputed.get(), promptReused.get(),
                decodeSteps.get(), prefillChunks.get(), drafted.get(), accepted.get(), prefillForwards.get());
    }

    private volatile int prefixSize;

    /**
     * Stops: waiting and running generations end with {@link Generation#SHUTDOWN} after the current step; returns
     * when the scheduler thread has stopped.
     */
    @Override public void close() {
        lock.lock();
        try {
            closed = true;
            work.signal();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(60));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- the scheduler thread ----

    private void loop() {
        try {
            while (true) {
                lock.lock();
                try {
                    while (!closed && waiting.isEmpty() && active.isEmpty()) work.await();
                    if (closed) break;
                    admit();
                } finally {
                    lock.unlock();
                }
                step();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            failAll(t);
            throw t;
        } finally {
            lock.lock();
            try {
                closed = true;
                for (Seq s : waiting) s.g.emit(new Generation.End(Generation.SHUTDOWN, 0, null));
                waiting.clear();
            } finally {
                lock.unlock();
            }
            for (Seq s : new ArrayList<>(active)) finish(s, Generation.SHUTDOWN, null);
            if (prefix != null) prefix.clear();
        }
    }

    /** Moves waiting requests into the batch while there is room (called with the lock held). */
    private void admit() {
        long now = System.nanoTime();
        while (!waiting.isEmpty()) {
            Seq s = waiting.peek();
            GenerationRequest r = s.g.request;
            if (s.g.cancelled() || (r.deadlineNanos() != 0 && now - r.deadlineNanos() > 0)) {
                waiting.poll();
                s.g.emit(new Generation.End(s.g.cancelled() ? Generation.CANCELLED : Generation.DEADLINE, 0, null));
                continue;
            }
            if (active.size() >= options.maxBatch()) return;
            List<PrefixCache.Entry> hit = prefix == null ? List.of() : prefix.lookup(s.prompt);
            int perChunk = options.prefillChunk() / pool.blockTokens;
            int total = pool.blocksFor(s.capacity), shared = hit.size() * perChunk;
            int[] blocks = new int[total];
            for (int j = 0; j < hit.size(); j++)
                for (int b = 0; b < perChunk; b++) {
                    blocks[j * perChunk + b] = hit.get(j).blocks[b];
                    pool.retain(hit.get(j).blocks[b]);
                }
            int fresh = total - shared;
            if (pool.freeBlocks() < fresh && (prefix == null || !prefix.makeRoom(fresh))) {
                for (int i = 0; i < shared; i++) pool.release(blocks[i]);
                if (active.isEmpty()) { // nothing will free blocks: cannot happen when submit's check holds
                    waiting.poll();
                    s.g.emit(new Generation.End(Generation.ERROR, 0, new IllegalStateException(
                            "the latent cache pool cannot hold this request (" + total + " blocks, " + pool.freeBlocks() + " free)")));
                    continue;
                }
                return; // wait for running sequences to end
            }
            for (int i = shared; i < total; i++) blocks[i] = pool.allocate();
            s.blocks = blocks;
            s.cache = KvCache.paged(pool, blocks, 0, mainLayers, 0);
            if (speculative) s.mtpCache = KvCache.paged(pool, blocks, mainLayers, 1, 1);
            s.pos = hit.size() * options.prefillChunk();
            s.lastEntry = hit.isEmpty() ? null : hit.get(hit.size() - 1);
            if (s.lastEntry != null) s.prevHidden = s.lastEntry.hidden;
            s.g.cachedPromptTokens = s.pos;
            promptReused.addAndGet(s.pos);
            waiting.poll();
            active.add(s);
            activeCount = active.size();
        }
    }

    private long lastFileCheck;

    private void step() {
        long now = System.nanoTime();
        if (now - lastFileCheck > 100_000_000L) { // a stat per weight file, ten times a second at most
            lastFileCheck = now;
            try {
                model.checkUnchanged();
            } catch (RuntimeException e) { // the mapped files changed: reading them could crash the JVM
                for (Seq s : new ArrayList<>(active)) finish(s, Generation.ERROR, e);
                return;
            }
        }
        for (Seq s : new ArrayList<>(active)) {
            long dl = s.g.request.deadlineNanos();
            if (s.g.cancelled()) finish(s, Generation.CANCELLED, null);
            else if (dl != 0 && now - dl > 0) finish(s, Generation.DEADLINE, null);
        }
        boolean prefilled = stackPrefill ? prefillStacked() : prefillOne();
        List<Seq> dec = new ArrayList<>();
        // a sequence whose reader is MAX_UNREAD tokens behind pauses (keeping its slot and blocks) until it catches up:
        // a slow or stalled client never makes the server buffer its whole completion
        for (Seq s : active) if (s.decoding && s.last >= 0 && s.g.pending() < MAX_UNREAD) dec.add(s);
        int batch = 0;
        if (speculative && !dec.isEmpty()) {
            decodeSpeculative(dec);
            batch = dec.size();
        } else for (int i = 0; i < dec.size(); i += rowsPerForward) {
            List<Seq> group = dec.subList(i, Math.min(dec.size(), i + rowsPerForward));
            try {
                decode(group);
            } catch (RuntimeException e) {
                for (Seq s : new ArrayList<>(group)) finish(s, Generation.ERROR, e);
            }
            batch += group.size();
        }
        if (batch > 0) {
            lastBatch = batch;
            peakBatch = Math.max(peakBatch, batch);
            decodeSteps.incrementAndGet();
        } else if (!prefilled) {
            idleWait(); // every running sequence waits for its reader: no busy loop
        }
        if (prefix != null) prefixSize = prefix.size();
    }

    /** Tokens a sequence may be ahead of its reader before it pauses. */
    static final int MAX_UNREAD = 256;

    private void idleWait() {
        lock.lock();
        try {
            work.await(2, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    /** The path before stacking: the next chunk of the first sequence still prefilling. False when none is. */
    private boolean prefillOne() {
        Seq p = null;
        for (Seq s : active) if (!s.decoding) { p = s; break; }
        if (p == null) return false;
        try {
            prefill(p);
        } catch (RuntimeException e) {
            finish(p, Generation.ERROR, e);
        }
        return true;
    }

    /**
     * One stacked forward over the next chunks of the sequences still prefilling, in admission order (a sequence's
     * consecutive chunks may all go in), up to {@link #prefillTokens} tokens. Every chunk is the one this sequence's
     * prefill alone computes (same boundaries, bitwise the same rows and cache entries), so batch invariance and the
     * prefix cache hold. False when no sequence is prefilling. Runs when {@link EngineOptions#prefillTokens} > 0 and
     * the model can stack its prefill ({@link DeepSeekV3#canStackPrefill}; block-typed experts, Q8_0 or K-quants, one
     * product per chunk and expert).
     */
    private boolean prefillStacked() {
        int chunk = options.prefillChunk(), used = 0;
        List<Seq> seqs = new ArrayList<>();
        List<int[]> ranges = new ArrayList<>();
        fill:
        for (Seq s : active) {
            if (s.decoding) continue;
            for (int p = s.pos, n = s.prompt.length; p < n; ) {
                int end = Math.min(n, (p / chunk + 1) * chunk);
                if (!seqs.isEmpty() && used + end - p > prefillTokens) break fill;
                seqs.add(s);
                ranges.add(new int[] {p, end});
                used += end - p;
                p = end;
            }
        }
        if (seqs.isEmpty()) return false;
        int segs = seqs.size();
        int[][] toks = new int[segs][];
        int[] start = new int[segs];
        KvCache[] caches = new KvCache[segs];
        for (int i = 0; i < segs; i++) {
            int[] r = ranges.get(i);
            toks[i] = Arrays.copyOfRange(seqs.get(i).prompt, r[0], r[1]);
            start[i] = r[0];
            caches[i] = seqs.get(i).cache;
        }
        float[] h;
        try {
            h = model.forwardStackedHidden(toks, start, caches, segs);
        } catch (RuntimeException e) {
            for (Seq s : seqs) finish(s, Generation.ERROR, e);
            return true;
        }
        // the prompts this forward ended: their last rows through lm_head together where the rows of one product are
        // summed as a one-row product sums them (float-typed lm_head, at most GEMV_MAX_M rows), else one at a time
        boolean together = !model.lmHead.dtype().isBlock();
        List<Seq> ended = new ArrayList<>();
        List<Integer> lastRows = new ArrayList<>();
        for (int i = 0, row = 0; i < segs; row += toks[i].length, i++) {
            Seq s = seqs.get(i);
            if (!active.contains(s)) continue;
            try {
                // a prompt it ends gets its first token there unless `together` (then below, with the others)
                if (prefilled(s, h, row, start[i], start[i] + toks[i].length, together) && together) {
                    ended.add(s);
                    lastRows.add(row + toks[i].length - 1);
                }
            } catch (RuntimeException e) {
                finish(s, Generation.ERROR, e);
            }
        }
        prefillForwards.incrementAndGet();
        for (int i0 = 0; i0 < ended.size(); i0 += Gemm.GEMV_MAX_M) {
            int M = Math.min(Gemm.GEMV_MAX_M, ended.size() - i0);
            float[] last = new float[M * dim];
            for (int k = 0; k < M; k++) System.arraycopy(h, lastRows.get(i0 + k) * dim, last, k * dim, dim);
            float[] logits;
            try {
                logits = model.logits(last, 0, M);
            } catch (RuntimeException e) {
                for (Seq s : ended.subList(i0, i0 + M)) finish(s, Generation.ERROR, e);
                continue;
            }
            for (int k = 0; k < M; k++) firstToken(ended.get(i0 + k), logits, k * vocab);
        }
        return true;
    }

    private void prefill(Seq s) {
        int n = s.prompt.length, chunk = options.prefillChunk(), start = s.pos;
        int end = Math.min(n, (start / chunk + 1) * chunk);
        float[] h = model.forwardHidden(Arrays.copyOfRange(s.prompt, start, end), start, s.cache);
        prefillForwards.incrementAndGet();
        prefilled(s, h, 0, start, end, false);
    }

    /**
     * After chunk [start, end) of s's prompt went through the model, its post-norm hidden rows at h[row0 ..]: the MTP
     * module's cache, the prefix cache entry, and the first token when the chunk ends the prompt (unless
     * {@code deferFirst}: then the caller samples it, {@link #firstToken}). True when the chunk ends the prompt.
     */
    private boolean prefilled(Seq s, float[] h, int row0, int start, int end, boolean deferFirst) {
        int n = s.prompt.length, chunk = options.prefillChunk();
        if (speculative) mtpPrefill(s, row0 == 0 ? h : Arrays.copyOfRange(h, row0 * dim, (row0 + end - start) * dim), start, end);
        s.pos = end;
        prefillChunks.incrementAndGet();
        promptComputed.addAndGet(end - start);
        if (prefix != null && end % chunk == 0) {
            int b0 = (end - chunk) / pool.blockTokens, b1 = end / pool.blockTokens;
            s.lastEntry = prefix.register(s.lastEntry, s.prompt, end, Arrays.copyOfRange(s.blocks, b0, b1), s.prevHidden);
        }
        if (end == n && !deferFirst) firstToken(s, model.logits(h, row0 + end - start - 1, 1), 0);
        return end == n;
    }

    /** Samples s's first token from its prompt's last logits at logits[off ..] and starts decoding. */
    private void firstToken(Seq s, float[] logits, int off) {
        s.decoding = true;
        int tok = s.sampler.sample(logits, off, vocab);
        emit(s, tok, logits, off);
        if (speculative && s.last >= 0) { // the first MTP pair of decoding: (h_{n-1}, x_n) at MTP position n-1
            s.pendH = s.prevHidden;
            s.pendTok = new int[] {tok};
            s.mtpPos = s.prompt.length - 1;
        }
    }

    /**
     * The MTP module's cache for prompt chunk [start, end) with main hidden states h (report §2.2; docs/architecture.md
     * §6.1: the MTP block's cache must cover the prompt): the pairs (h_i, x_{i+1}) at MTP positions i = start-1 ..
     * end-2 (from 0 for the first chunk), the first one with the previous chunk's last hidden state. They land in
     * slots start .. end-1, this chunk's own blocks, so a chunk's blocks hold only rows that are a function of the
     * tokens up to its end, and a prefix-cache hit reuses them exactly (with the entry's hidden state for the next pair).
     */
    private void mtpPrefill(Seq s, float[] h, int start, int end) {
        int T = end - start;
        if (start == 0) {
            if (T > 1) model.mtpHidden(Arrays.copyOfRange(s.prompt, 1, end), h, 0, s.mtpCache);
        } else {
            float[] in = new float[T * dim];
            System.arraycopy(s.prevHidden, 0, in, 0, dim);
            System.arraycopy(h, 0, in, dim, (T - 1) * dim);
            model.mtpHidden(Arrays.copyOfRange(s.prompt, start, end), in, start - 1, s.mtpCache);
        }
        s.prevHidden = Arrays.copyOfRange(h, (T - 1) * dim, T * dim);
    }

    /**
     * One decode step of the sequences {@code dec} with MTP drafts (the batched form of {@link SpeculativeGenerator},
     * whose indices and argument this follows). A sequence that may still emit two tokens drafts one: its pending MTP
     * pairs go through one batched MTP forward for all such sequences, and the argmax of its last row's logits is the
     * draft d. Then one main forward verifies: a drafting sequence contributes two rows, [last at pos, d at pos+1],
     * the others one. The first row's token is sampled as in plain decoding; when it equals d, the second row was
     * computed on the right prefix and gives the next token from the same forward, else that row and its cache entry
     * at pos+1 are dropped: the sequence's position does not advance past it, so the next forward overwrites the
     * entry, and attention never reads past a sequence's position (the rollback; blocks are reserved up front, so
     * none is freed). Each main row is bitwise the row a one-token decode would give (up to {@link Gemm#GEMV_MAX_M}
     * rows per forward, which a sequence's rows never straddle), and every emitted token is one draw of the
     * sequence's own sampler from such a row, in order: the tokens are those of plain decoding, greedy or seeded.
     */
    private void decodeSpeculative(List<Seq> dec) {
        int maxRows = Math.max(4, Gemm.GEMV_MAX_M);
        List<Seq> drafting = new ArrayList<>();
        for (Seq s : dec) {
            s.draft = -1;
            if (s.g.request.maxNewTokens() - s.emitted >= 2 && s.pos + 1 < s.capacity) drafting.add(s);
        }
        for (int i = 0; i < drafting.size(); ) {
            int j = i, rows = 0;
            while (j < drafting.size() && rows + drafting.get(j).pendTok.length <= maxRows) rows += drafting.get(j++).pendTok.length;
            List<Seq> group = drafting.subList(i, j);
            try {
                draft(group, rows);
            } catch (RuntimeException e) {
                for (Seq s : new ArrayList<>(group)) finish(s, Generation.ERROR, e);
                dec.removeAll(group);
            }
            i = j;
        }
        for (int i = 0; i < dec.size(); ) {
            int j = i, rows = 0;
            while (j < dec.size() && rows + (dec.get(j).draft >= 0 ? 2 : 1) <= maxRows) rows += dec.get(j++).draft >= 0 ? 2 : 1;
            List<Seq> group = dec.subList(i, j);
            try {
                verify(group, rows);
            } catch (RuntimeException e) {
                for (Seq s : new ArrayList<>(group)) finish(s, Generation.ERROR, e);
            }
            i = j;
        }
    }

    /** Runs the pending MTP pairs of {@code group} ({@code rows} in all) and sets each sequence's draft. */
    private void draft(List<Seq> group, int rows) {
        int[] toks = new int[rows], pos = new int[rows];
        KvCache[] caches = new KvCache[rows];
        float[] hid = new float[rows * dim];
        int r = 0;
        for (Seq s : group)
            for (int t = 0; t < s.pendTok.length; t++, r++) {
                toks[r] = s.pendTok[t];
                pos[r] = s.mtpPos + t;
                caches[r] = s.mtpCache;
                System.arraycopy(s.pendH, t * dim, hid, r * dim, dim);
            }
        float[] mh = model.mtpBatchHidden(toks, hid, pos, caches, rows);
        float[] last = new float[group.size() * dim];
        r = 0;
        for (int k = 0; k < group.size(); k++) {
            r += group.get(k).pendTok.length;
            System.arraycopy(mh, (r - 1) * dim, last, k * dim, dim);
        }
        float[] logits = model.logits(last, 0, group.size());
        for (int k = 0; k < group.size(); k++) {
            Seq s = group.get(k);
            s.draft = drafts.draft(s.g.request, s.emitted, Sampler.argmax(logits, k * vocab, vocab));
            s.mtpPos += s.pendTok.length;
            s.pendTok = new int[0];
            s.pendH = new float[0];
        }
        drafted.addAndGet(group.size());
    }

    /** The main forward over {@code group}'s rows ({@code rows}: last, and the draft where there is one), then sampling. */
    private void verify(List<Seq> group, int rows) {
        int M = group.size();
        int[] toks = new int[rows], pos = new int[rows], first = new int[M];
        KvCache[] caches = new KvCache[rows];
        int r = 0;
        for (int k = 0; k < M; k++) {
            Seq s = group.get(k);
            first[k] = r;
            toks[r] = s.last;
            pos[r] = s.pos;
            caches[r++] = s.cache;
            if (s.draft >= 0) {
                toks[r] = s.draft;
                pos[r] = s.pos + 1;
                caches[r++] = s.cache;
            }
        }
        float[] h = model.forwardBatchHidden(toks, pos, caches, rows);
        float[] logits = model.logits(gather(h, first, M), 0, M);
        List<Seq> acc = new ArrayList<>();
        float[] accH = new float[M * dim];
        for (int k = 0; k < M; k++) {
            Seq s = group.get(k);
            int tok = s.sampler.sample(logits, k * vocab, vocab);
            s.pendH = concat(s.pendH, h, first[k] * dim);
            s.pendTok = append(s.pendTok, tok);
            s.pos++;
            emit(s, tok, logits, k * vocab);
            if (s.draft >= 0 && tok == s.draft) {
                accepted.incrementAndGet();
                if (s.last >= 0) {
                    System.arraycopy(h, (first[k] + 1) * dim, accH, acc.size() * dim, dim);
                    acc.add(s);
                }
            }
        }
        if (acc.isEmpty()) return;
        float[] logits2 = model.logits(accH, 0, acc.size());
        for (int k = 0; k < acc.size(); k++) {
            Seq s = acc.get(k);
            int tok2 = s.sampler.sample(logits2, k * vocab, vocab);
            s.pendH = concat(s.pendH, accH, k * dim);
            s.pendTok = append(s.pendTok, tok2);
            s.pos++;
            emit(s, tok2, logits2, k * vocab);
        }
    }

    /** Rows {@code rows[0..n)} of [*, dim] hidden states, as a new [n, dim] array. */
    private float[] gather(float[] h, int[] rows, int n) {
        float[] out = new float[n * dim];
        for (int k = 0; k < n; k++) System.arraycopy(h, rows[k] * dim, out, k * dim, dim);
        return out;
    }

    /** {@code a} with the hidden row at {@code b[off..off+dim)} appended. */
    private float[] concat(float[] a, float[] b, int off) {
        float[] r = Arrays.copyOf(a, a.length + dim);
        System.arraycopy(b, off, r, a.length, dim);
        return r;
    }

    private static int[] append(int[] a, int v) {
        int[] r = Arrays.copyOf(a, a.length + 1);
        r[a.length] = v;
        return r;
    }

    private void decode(List<Seq> group) {
        int M = group.size();
        int[] toks = new int[M], pos = new int[M];
        KvCache[] caches = new KvCache[M];
        for (int i = 0; i < M; i++) {
            Seq s = group.get(i);
            toks[i] = s.last;
            pos[i] = s.pos;
            caches[i] = s.cache;
        }
        float[] logits = model.decodeBatch(toks, pos, caches, M);
        for (int i = 0; i < M; i++) {
            Seq s = group.get(i);
            s.pos++;
            emit(s, s.sampler.sample(logits, i * vocab, vocab), logits, i * vocab);
        }
    }

    /** Streams token {@code tok} of {@code s} and decides whether the sequence goes on (the order of Generator's). */
    private void emit(Seq s, int tok, float[] logits, int off) {
        GenerationRequest r = s.g.request;
        Logprobs lp = r.topLogprobs() >= 0 ? Logprobs.of(logits, off, vocab, tok, r.topLogprobs()) : null;
        s.emitted++;
        tokens.incrementAndGet();
        if (s.g.firstTokenNanos == 0) s.g.firstTokenNanos = System.nanoTime();
        s.g.emit(new Generation.Token(tok, lp));
        s.last = -1;
        if (contains(r.stopTokens(), tok)) finish(s, Generation.STOP_TOKEN, null);
        else if (s.emitted >= r.maxNewTokens()) finish(s, Generation.MAX_TOKENS, null);
        else if (s.g.cancelled()) finish(s, Generation.CANCELLED, null);
        else if (s.prompt.length + s.emitted - 1 >= s.capacity) finish(s, Generation.CONTEXT, null);
        else s.last = tok;
    }

    private void finish(Seq s, String reason, RuntimeException error) {
        if (!active.remove(s)) return;
        activeCount = active.size();
        if (s.blocks != null) for (int b : s.blocks) pool.release(b);
        s.blocks = null;
        s.g.emit(new Generation.End(reason, s.emitted, error));
    }

    private void failAll(Throwable t) {
        RuntimeException e = t instanceof RuntimeException re ? re : new IllegalStateException("engine failure: " + t, t);
        for (Seq s : new ArrayList<>(active)) finish(s, Generation.ERROR, e);
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }
}
