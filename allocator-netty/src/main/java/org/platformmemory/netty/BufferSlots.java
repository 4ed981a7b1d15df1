package org.platformmemory.netty;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.netty.buffer.ByteBuf;

/**
 * Holds every buffer the backend has taken from Netty, each under a small integer slot that the block
 * itself carries, so a free finds its buffer in O(1) with no map, no lock and no boxing; and keeps, per
 * thread and per {@link BlockClasses size class}, a few freed buffers ready for the next allocation.
 *
 * <p>Why a cache of buffers: Netty 4.2 recycles its {@code ByteBuf} objects only on its own
 * {@code FastThreadLocalThread}s. On any other thread (the C side's upcall threads, test threads) every
 * {@code directBuffer} creates a new buffer object and every release a new cache entry, about 140 bytes
 * of Java heap per block. Keeping a freed buffer, with its memory, for the next block of its class keeps
 * the common path free of both Netty calls and Java-heap allocation. Buffers that do not fit go back to
 * Netty, whose arenas and thread caches serve every miss.
 *
 * <p>The table is a growing list of fixed pages; a slot never moves. Spare slot numbers and cached
 * buffers are kept per thread, so the common case costs no atomic operation; a thread's surplus, and
 * what a thread held when it ended, go back through one lock or one cleaner, a batch at a time.
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
    private static final Cleaner THREAD_ENDS = Cleaner.create();

    private final int cacheDepth;
    private final Object lock = new Object();
    private volatile ByteBuf[][] pages = new ByteBuf[1][];
    // guarded by lock
    private int minted;
    private int[] pool = new int[LOCAL_CAPACITY];
    private int pooled;
    private final List<LocalSlots> locals = new ArrayList<>();

    private final ThreadLocal<LocalSlots> local = new ThreadLocal<>();

    /** @param cacheDepth freed buffers each thread keeps per size class; 0 keeps none */
    BufferSlots(int cacheDepth) {
        this.cacheDepth = cacheDepth;
        pages[0] = new ByteBuf[PAGE_SIZE];
    }

    /**
     * Stores {@code buffer} under a free slot.
     *
     * @return the slot, or -1 when the table cannot grow any further
     */
    int put(ByteBuf buffer) {
        LocalSlots mine = mine();
        if (mine.count == 0 && !refill(mine)) {
            return -1;
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
        LocalSlots mine = mine();
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
        LocalSlots mine = mine();
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
        LocalSlots mine = mine();
        int n = mine.cachedCount[sizeClass];
        if (n == cacheDepth) {
            return false;
        }
        mine.cached[sizeClass * cacheDepth + n] = slot;
        mine.cachedCount[sizeClass] = n + 1;
        return true;
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
        synchronized (lock) {
            int cached = 0;
            for (LocalSlots slots : locals) {
                for (int n : slots.cachedCount) {
                    cached += n;
                }
            }
            return cached;
        }
    }

    /**
     * Releases every buffer, cached or held, and forgets every thread that used this table. Only for
     * shutting down: must not race with any other method.
     *
     * @return how many buffers were held (not counting cached ones)
     */
    int drain() {
        List<LocalSlots> all;
        synchronized (lock) {
            all = new ArrayList<>(locals);
        }
        all.forEach(slots -> slots.registration.clean());
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

    private LocalSlots mine() {
        LocalSlots mine = local.get();
        return mine != null ? mine : register();
    }

    private LocalSlots register() {
        LocalSlots mine = new LocalSlots(cacheDepth, Thread.currentThread());
        local.set(mine);
        // when the thread ends, its cached buffers go back to Netty and its slot numbers to the pool;
        // the cleaner waits for the Thread object to be collected, so a new thread also retires the
        // threads it finds ended, and the memory of short-lived threads does not wait for a GC
        mine.registration = THREAD_ENDS.register(Thread.currentThread(),
            new ReturnOnThreadEnd(new WeakReference<>(this), mine));
        List<LocalSlots> ended = new ArrayList<>();
        synchronized (lock) {
            locals.add(mine);
            for (LocalSlots other : locals) {
                if (other.hasEnded()) {
                    ended.add(other);
                }
            }
        }
        ended.forEach(other -> other.registration.clean()); // runs retire() at most once per thread
        return mine;
    }

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
            locals.remove(mine);
        }
    }

    /**
     * One thread's spare slot numbers and cached buffers: touched only by that thread, then by whoever
     * retires it. Knows its thread only weakly, so that the thread can be collected and its cleaner run.
     */
    private static final class LocalSlots {
        final int[] slots = new int[LOCAL_CAPACITY];
        int count;
        final int[] cached;
        final int[] cachedCount = new int[BlockClasses.COUNT];
        final WeakReference<Thread> owner;
        Cleaner.Cleanable registration;

        LocalSlots(int depth, Thread owner) {
            cached = new int[BlockClasses.COUNT * depth];
            this.owner = new WeakReference<>(owner);
        }

        boolean hasEnded() {
            Thread thread = owner.get();
            return thread == null || !thread.isAlive();
        }
    }

    /**
     * Retires a finished thread's cache. Refers to the thread's slots, never to the thread, and to the table
     * only weakly; the cached buffers keep Netty's pool alive until they are released here.
     */
    private record ReturnOnThreadEnd(WeakReference<BufferSlots> owner, LocalSlots slots) implements Runnable {
        @Override
        public void run() {
            BufferSlots table = owner.get();
            if (table != null) {
                table.retire(slots);
            }
        }
    }
}
