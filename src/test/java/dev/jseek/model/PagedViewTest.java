package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A paged view of some layers of a pool's blocks with a slot shift ({@link KvCache#paged(BlockPool, int[], int, int,
 * int)}; the batch engine keeps the MTP cache so). Oracle: a contiguous cache given the same writes. Writes through
 * the view land in its layers only, at slot position + shift.
 */
class PagedViewTest {
    @Test void shiftedLastLayerViewReadsWhatAContiguousCacheReads() {
        ModelConfig cfg = Presets.get("tiny");
        int layers = 3, bt = 4, w = cfg.kvLoraRank() + cfg.qkRopeHeadDim(), rank = cfg.kvLoraRank();
        BlockPool pool = new BlockPool(cfg, layers, bt, 8);
        int[] ids = {5, 2, 7, 0}; // 16 slots, in a scattered order
        for (int i = 0; i < 8; i++) pool.allocate(); // every block's storage exists (and is zero)
        KvCache view = KvCache.paged(pool, ids, 2, 1, 1);
        KvCache main = KvCache.paged(pool, ids, 0, 2, 0);
        KvCache flat = new KvCache(cfg, 1, 15, AttnMode.ABSORB);
        assertEquals(15, view.capacity);
        assertEquals(1, view.layers());
        Random r = new Random(1);
        float[] ckv = new float[rank], kpe = new float[w - rank];
        for (int p = 0; p < 15; p++) {
            for (int i = 0; i < rank; i++) ckv[i] = r.nextFloat();
            for (int i = 0; i < kpe.length; i++) kpe[i] = r.nextFloat();
            view.writeLatent(0, p, ckv, 0, kpe, 0);
            flat.ensure(p + 1);
            flat.writeLatent(0, p, ckv, 0, kpe, 0);
        }
        float[] got = view.latentRows(0, 15, new float[15 * w]);
        float[] want = flat.latent(0);
        for (int i = 0; i < 15 * w; i++) assertEquals(want[i], got[i], "float " + i);
        // position p went to slot p + 1 of layer 2: block ids[(p+1)/bt], row (2*bt + (p+1)%bt)
        float[] b = pool.block(ids[1]);
        assertEquals(want[3 * w], b[(2 * bt + 0) * w], "position 3 in slot 4 = block 1, slot 0");
        // the main layers saw nothing
        float[] mainRows = main.latentRows(1, 16, new float[16 * w]);
        for (float x : mainRows) assertEquals(0f, x);
        assertThrows(IllegalArgumentException.class, () -> KvCache.paged(pool, ids, 2, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> KvCache.paged(pool, ids, 0, 1, 16));
    }
}
