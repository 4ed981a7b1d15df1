package org.platformmemory.netty;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

import io.netty.buffer.ByteBuf;

import org.platformmemory.api.kit.PerThread;

/**
 * Holds every buffer the backend has taken from Netty, each under a small integer slot that the block
 * itself carries, so a free finds its buffer in O(1) with no map, no lock and no boxing; and keeps, per
 * thread and per size class ({@link NettyAllocator#CLASSES}), a few freed buffers ready for the next
 * allocation.
 *
 * <p>Why a cache of buffers: Netty 4.2 recycles its {@code ByteBuf} objects only on its own
 * {@code FastThreadLocalThread}s. On any other thread (the C side's upcall threads, test threads) every
 * {@code directBuffer} creates a new buffer object and every release a new cache entry, about 140 bytes
 * of Java heap per block. Keeping a freed buffer, with its memory, for the next block of its class keeps
 * the common path free of both Netty calls and Java-heap allocation. Buffers that do not fit go back to
 * Netty, whose arenas and thread caches serve every miss.
 *
 * <p>The table is a growing list of fixed pages; a slot never moves. Spare slot numbers and cached
 * buffers are kept per thread ({@link PerThread}), so the common case costs no atomic operation; a
 * thread's surplus goes back through one lock a batch at a time, and what a thread held when it ended
 * goes back when another thread arrives, when a thread refills its slot numbers, or on {@link #drain}.
 *
 * <p>Thread-safe. A slot may be given back, and a buffer cached, by any thread.
 */
final class BufferSlots {

    private static final int PAGE_SHIFT = 12;
    private static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    private static final int PAGE_MASK = PAGE_SIZE - 1;
    /** Spare slot numbers a thread keeps; a refill or a spill moves half of it. */
    private static final int LOCAL_CAPACITY = 256;
    private static final int BATCH = LOCAL_CAPACITY / 2;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(ByteBuf[].class);

    private final int cacheDepth;
    private final Object lock = new Object();
    private volatile ByteBuf[][] pages = new ByteBuf[1][];
    // guarded by lock
    private int minted;
    private int[] pool = new int[LOCAL_CAPACITY];
    private int pooled;

    private final PerThread<LocalSlots> threads;
    /** Bumped by {@link #trim}: a thread whose cache is of an older epoch gives its cached buffers back. */
    private volatile int trimEpoch;

    /** @param cacheDepth freed buffers each thread keeps per size class; 0 keeps none */
    BufferSlots(int cacheDepth) {
        this.cacheDepth = cacheDepth;
        this.threads = new PerThread<>(() -> new LocalSlots(cacheDepth, trimEpoch), this::retire);
        pages[0] = new ByteBuf[PAGE_SIZE];
    }

    /**
     * Stores {@code buffer} under a free slot.
     *
     * @return the slot, or -1 when the table cannot grow any further
     */
    int put(ByteBuf buffer) {
        LocalSlots mine = threads.current();
        if (mine.count == 0) {
            // once per batch of slots: ended threads' cached buffers go back to Netty
            threads.retireEnded();
            if (!refill(mine)) {
                return -1;
            }
        }
        int slot = mine.slots[--mine.count];
        // release: a thread that learns the block's address from us sees the buffer in its slot
        SLOT.setRelease(pages[slot >>> PAGE_SHIFT], slot & PAGE_MASK, buffer);
        return slot;
    }

    /**
     * The buffer under {@code slot}, or {@code null} if the slot is out of range or empty.
     */
    ByteBuf get(int slot) {
        ByteBuf[][] table = pages;
        int page = slot >>> PAGE_SHIFT;
        if (slot < 0 || page >= table.length || table[page] == null) {
            return null;
        }
        return (ByteBuf) SLOT.getAcquire(table[page], slot & PAGE_MASK);
    }

    /** Empties {@code slot}, which holds a buffer, and makes it free for reuse. */
    void remove(int slot) {
        SLOT.setRelease(pages[slot >>> PAGE_SHIFT], slot & PAGE_MASK, (ByteBuf) null);
        LocalSlots mine = threads.current();
        if (mine.count == LOCAL_CAPACITY) {
            spill(mine);
        }
        mine.slots[mine.count++] = slot;
    }

    /**
     * Takes a cached buffer of size class {@code sizeClass} from this thread's cache; it stays in its slot.
     *
     * @return its slot, or -1 when this thread has none cached
     */
    int takeCached(int sizeClass) {
        LocalSlots mine = threads.current();
        if (mine.epoch != trimEpoch) {
            trimLocal(mine);
        }
        int n = mine.cachedCount[sizeClass];
        if (n == 0) {
            return -1;
        }
        mine.cachedCount[sizeClass] = n - 1;
        return mine.cached[sizeClass * cacheDepth + n - 1];
    }

    /**
     * Keeps the buffer under {@code slot}, of size class {@code sizeClass}, in this thread's cache.
     *
     * @return false if the cache is full: the caller then removes the slot and releases the buffer
     */
    boolean cache(int slot, int sizeClass) {
        LocalSlots mine = threads.current();
        if (mine.epoch != trimEpoch) {
            trimLocal(mine);
        }
        int n = mine.cachedCount[sizeClass];
        if (n == cacheDepth) {
            return false;
        }
        mine.cached[sizeClass * cacheDepth + n] = slot;
        mine.cachedCount[sizeClass] = n + 1;
        return true;
    }

    /**
     * Gives every cached buffer back to Netty: this thread's now, every other thread's on its next
     * allocation or free through the cache (a thread that never calls again keeps its cache until it
     * ends). A cached buffer keeps its whole Netty chunk from being freed, so this is what lets chunks
     * empty out after a wave of frees.
     */
    void trim() {
        synchronized (lock) {
            trimEpoch++;
        }
        trimLocal(threads.current());
    }

    private void trimLocal(LocalSlots mine) {
        mine.epoch = trimEpoch;
        retire(mine); // the same as for an ended thread: buffers released, slot numbers to the pool
    }

    /** Slots ever handed out: the table's high-water mark. */
    int capacity() {
        synchronized (lock) {
            return minted;
        }
    }

    /** Buffers in slots, cached or not, counted by a scan: for statistics, not for hot paths. */
    int held() {
        int held = 0;
        for (ByteBuf[] page : pages) {
            if (page == null) {
                continue;
            }
            for (int i = 0; i < page.length; i++) {
                if (SLOT.getAcquire(page, i) != null) {
                    held++;
                }
            }
        }
        return held;
    }

    /** Buffers parked in thread caches now; a racy sum, for statistics. */
    int cached() {
        int[] cached = new int[1];
        threads.forEach(slots -> {
            for (int n : slots.cachedCount) {
                cached[0] += n;
            }
        });
        return cached[0];
    }

    /**
     * Releases every buffer, cached or held, and forgets every thread that used this table. Only for
     * shutting down: must not race with any other method.
     *
     * @return how many buffers were held (not counting cached ones)
     */
    int drain() {
        threads.retireAll();
        int drained = 0;
        for (ByteBuf[] page : pages) {
            if (page == null) {
                continue;
            }
            for (int i = 0; i < page.length; i++) {
                ByteBuf buffer = page[i];
                if (buffer != null) {
                    page[i] = null;
                    buffer.release();
                    drained++;
                }
            }
        }
        return drained;
    }

    // ---------------------------------------------------------------------------------------------
    // Slow paths: once per thread, once per BATCH slots

    private boolean refill(LocalSlots mine) {
        synchronized (lock) {
            if (pooled == 0 && !mint()) {
                return false;
            }
            int moved = Math.min(BATCH, pooled);
            pooled -= moved;
            System.arraycopy(pool, pooled, mine.slots, 0, moved);
            mine.count = moved;
            return true;
        }
    }

    private void spill(LocalSlots mine) {
        synchronized (lock) {
            give(mine.slots, mine.count - BATCH, BATCH);
            mine.count -= BATCH;
        }
    }

    /** Creates BATCH new slot numbers in the pool, growing the table by a page when needed. */
    private boolean mint() {
        if (minted > Integer.MAX_VALUE - PAGE_SIZE) {
            return false;
        }
        int page = minted >>> PAGE_SHIFT; // a batch never straddles pages: PAGE_SIZE is a multiple of BATCH
        ByteBuf[][] table = pages;
        if (page >= table.length || table[page] == null) {
            ByteBuf[][] grown = page < table.length ? table : Arrays.copyOf(table, table.length * 2);
            grown[page] = new ByteBuf[PAGE_SIZE];
            pages = grown;
        }
        if (pool.length < pooled + BATCH) {
            pool = Arrays.copyOf(pool, pool.length * 2);
        }
        for (int i = 0; i < BATCH; i++) {
            pool[pooled++] = minted++;
        }
        return true;
    }

    private void give(int[] slots, int from, int count) {
        if (pool.length < pooled + count) {
            pool = Arrays.copyOf(pool, Math.max(pool.length * 2, pooled + count));
        }
        System.arraycopy(slots, from, pool, pooled, count);
        pooled += count;
    }

    /** Releases what one thread kept and returns its slots; for a thread that ended, or on shutdown. */
    private void retire(LocalSlots mine) {
        synchronized (lock) {
            for (int c = 0; c < mine.cachedCount.length; c++) {
                for (int i = 0; i < mine.cachedCount[c]; i++) {
                    int slot = mine.cached[c * cacheDepth + i];
                    ByteBuf buffer = get(slot);
                    SLOT.setRelease(pages[slot >>> PAGE_SHIFT], slot & PAGE_MASK, (ByteBuf) null);
                    if (buffer != null) {
                        buffer.release();
                    }
                    give(mine.cached, c * cacheDepth + i, 1);
                }
                mine.cachedCount[c] = 0;
            }
            give(mine.slots, 0, mine.count);
            mine.count = 0;
        }
    }

    /** One thread's spare slot numbers and cached buffers: touched only by that thread, then by whoever retires it. */
    private static final class LocalSlots {
        final int[] slots = new int[LOCAL_CAPACITY];
        int count;
        final int[] cached;
        final int[] cachedCount = new int[NettyAllocator.CLASSES.count()];
        /** The {@link #trimEpoch} this cache last gave its buffers back at (or was made at). */
        int epoch;

        LocalSlots(int depth, int epoch) {
            cached = new int[cachedCount.length * depth];
            this.epoch = epoch;
        }
    }
}
