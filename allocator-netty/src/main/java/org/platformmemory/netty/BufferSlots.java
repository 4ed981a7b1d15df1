package org.platformmemory.netty;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.function.IntConsumer;

import io.netty.buffer.ByteBuf;

import org.platformmemory.api.kit.ThreadStacks;

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
 * the common path free of both Netty calls and Java-heap allocation.
 *
 * <p>Both per-thread parts are the kit's {@link ThreadStacks} (a block there is a slot number plus one,
 * never 0): the spare slot numbers, refilled from and spilled to one locked pool half a stack at a time,
 * and the cached buffers, one stack per size class, whose backing has nothing to hand out (a miss goes to
 * Netty, whose arenas and thread caches serve it) and takes back a full stack's older half by releasing
 * those buffers to Netty. What a thread held when it ended goes back as the kit's policy says; a
 * {@link #trim} asks every thread to give its cached buffers back (see there when).
 *
 * <p>The table is a growing list of fixed pages; a slot never moves. Thread-safe: a slot may be given
 * back, and a buffer cached, by any thread.
 */
final class BufferSlots {

    private static final int PAGE_SHIFT = 12;
    private static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    private static final int PAGE_MASK = PAGE_SIZE - 1;
    /** Spare slot numbers a thread keeps; a refill or a spill moves half of it. */
    private static final int LOCAL_CAPACITY = 256;
    private static final int BATCH = LOCAL_CAPACITY / 2;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(ByteBuf[].class);

    private final Object lock = new Object();
    private volatile ByteBuf[][] pages = new ByteBuf[1][];
    // guarded by lock
    private int minted;
    private int[] pool = new int[LOCAL_CAPACITY];
    private int pooled;

    private final ThreadStacks spare;
    private final ThreadStacks cache;
    /** Told the capacity of each cached buffer released to Netty (the backend counts bytes given back). */
    private final IntConsumer released;

    /**
     * @param cacheDepth freed buffers each thread keeps per size class; 0 keeps none
     * @param released   told the capacity of each cached buffer given back to Netty
     */
    BufferSlots(int cacheDepth, IntConsumer released) {
        this.released = released;
        this.spare = new ThreadStacks(new int[] {LOCAL_CAPACITY}, new SlotPool());
        int[] depth = new int[NettyAllocator.CLASSES.count()];
        Arrays.fill(depth, cacheDepth);
        this.cache = new ThreadStacks(depth, new CachedBuffers());
        pages[0] = new ByteBuf[PAGE_SIZE];
    }

    /**
     * Stores {@code buffer} under a free slot.
     *
     * @return the slot, or -1 when the table cannot grow any further
     */
    int put(ByteBuf buffer) {
        int slot = (int) spare.current().pop(0) - 1;
        if (slot >= 0) {
            set(slot, buffer);
        }
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

    // release: a thread that learns a block's address from us sees the buffer (or the emptied slot)
    private void set(int slot, ByteBuf buffer) {
        SLOT.setRelease(pages[slot >>> PAGE_SHIFT], slot & PAGE_MASK, buffer);
    }

    /** Empties {@code slot}, which holds a buffer, and makes it free for reuse. */
    void remove(int slot) {
        set(slot, null);
        spare.current().push(0, slot + 1L);
    }

    /**
     * Takes a cached buffer of size class {@code sizeClass} from this thread's cache; it stays in its slot.
     *
     * @return its slot, or -1 when this thread has none cached
     */
    int takeCached(int sizeClass) {
        return (int) cache.current().pop(sizeClass) - 1;
    }

    /**
     * Keeps the buffer under {@code slot}, of size class {@code sizeClass}, in this thread's cache; if that
     * class's stack is full, its older half goes back to Netty first.
     */
    void cache(int slot, int sizeClass) {
        cache.current().push(sizeClass, slot + 1L);
    }

    /**
     * Gives every cached buffer back to Netty: this thread's now, every other thread's the next time one
     * of its classes finds its stack empty or full ({@link ThreadStacks#flushAll}; until then a thread
     * keeps at most the cache's depth per class, and one that never calls again keeps its cache until it
     * ends). A cached buffer keeps its whole Netty chunk from being freed, so this is what lets chunks
     * empty out after a wave of frees.
     */
    void trim() {
        cache.flushAll();
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
        long[] tally = new long[NettyAllocator.CLASSES.count()];
        long[] cached = new long[tally.length];
        cache.totals(tally, cached);
        long sum = 0;
        for (long n : cached) {
            sum += n;
        }
        return (int) sum;
    }

    /**
     * Releases every buffer, cached or held, and forgets every thread that used this table. Only for
     * shutting down: must not race with any other method.
     *
     * @return how many buffers were held (not counting cached ones)
     */
    int drain() {
        cache.retireAll();
        spare.forgetAll();
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

    /** Creates BATCH new slot numbers in the pool, growing the table by a page when needed; under lock. */
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

    /** Puts {@code count} slot numbers (plus one each) from {@code from[at..)} back in the pool; under lock. */
    private void pool(long[] from, int at, int count) {
        if (pool.length < pooled + count) {
            pool = Arrays.copyOf(pool, Math.max(pool.length * 2, pooled + count));
        }
        for (int i = at; i < at + count; i++) {
            pool[pooled++] = (int) from[i] - 1;
        }
    }

    /** The spare slot numbers' backing: the shared pool, minting new numbers when it is empty. */
    private final class SlotPool implements ThreadStacks.Backing {
        @Override
        public int take(int sizeClass, long[] into, int at, int max) {
            // once per batch of slot numbers: the caches of threads that ended go back to Netty
            cache.retireEnded();
            synchronized (lock) {
                if (pooled == 0 && !mint()) {
                    return 0;
                }
                int moved = Math.min(max, pooled);
                for (int i = 0; i < moved; i++) {
                    into[at + i] = pool[--pooled] + 1L;
                }
                return moved;
            }
        }

        @Override
        public void give(int sizeClass, long[] from, int at, int count) {
            synchronized (lock) {
                pool(from, at, count);
            }
        }
    }

    /**
     * The cached buffers' backing: a miss is Netty's to serve, so there is nothing to take; buffers given
     * back (a full stack's older half, a flush, an ended thread's cache) are released to Netty and their
     * slots pooled.
     */
    private final class CachedBuffers implements ThreadStacks.Backing {
        @Override
        public int take(int sizeClass, long[] into, int at, int max) {
            return 0;
        }

        @Override
        public void give(int sizeClass, long[] from, int at, int count) {
            for (int i = at; i < at + count; i++) {
                int slot = (int) from[i] - 1;
                ByteBuf buffer = get(slot);
                set(slot, null);
                if (buffer != null) {
                    int capacity = buffer.capacity();
                    buffer.release();
                    released.accept(capacity);
                }
            }
            synchronized (lock) {
                pool(from, at, count);
            }
        }
    }
}
