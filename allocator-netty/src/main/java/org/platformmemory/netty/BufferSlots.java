package org.platformmemory.netty;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

import io.netty.buffer.ByteBuf;

/**
 * Holds every buffer the C side owns, each under a small integer slot that the block itself carries, so
 * a free finds its buffer in O(1) with no map, no lock and no boxing.
 *
 * <p>The table is a growing list of fixed pages; a slot, once handed out, never moves. Free slot numbers
 * are kept per thread (as Netty keeps its buffers), so taking and giving back a slot costs no atomic
 * operation in the common case; a thread's surplus, and the slots of a thread that ended, go back to a
 * shared pool under one lock, a batch at a time.
 *
 * <p>Thread-safe. A slot may be given back by any thread, not only the one that took it.
 */
final class BufferSlots {

    private static final int PAGE_SHIFT = 12;
    private static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    private static final int PAGE_MASK = PAGE_SIZE - 1;
    /** Slot numbers a thread keeps; a refill or a spill moves half of it. */
    private static final int LOCAL_CAPACITY = 256;
    private static final int BATCH = LOCAL_CAPACITY / 2;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(ByteBuf[].class);
    private static final Cleaner THREAD_ENDS = Cleaner.create();

    private final Object lock = new Object();
    private volatile ByteBuf[][] pages = new ByteBuf[1][];
    // guarded by lock
    private int minted;
    private int[] pool = new int[LOCAL_CAPACITY];
    private int pooled;
    private final List<Cleaner.Cleanable> threads = new ArrayList<>();

    private final ThreadLocal<LocalSlots> local = new ThreadLocal<>();

    BufferSlots() {
        pages[0] = new ByteBuf[PAGE_SIZE];
    }

    /**
     * Stores {@code buffer} under a free slot.
     *
     * @return the slot, or -1 when the table cannot grow any further
     */
    int put(ByteBuf buffer) {
        LocalSlots mine = local.get();
        if (mine == null) {
            mine = register();
        }
        if (mine.count == 0 && !refill(mine)) {
            return -1;
        }
        int slot = mine.slots[--mine.count];
        // release: a thread that learns the block's address from us sees the buffer in its slot
        SLOT.setRelease(pages[slot >>> PAGE_SHIFT], slot & PAGE_MASK, buffer);
        return slot;
    }

    /**
     * The buffer under {@code slot}, or {@code null} if the slot is out of range or empty. Does not free it.
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
        LocalSlots mine = local.get();
        if (mine == null) {
            mine = register();
        }
        if (mine.count == LOCAL_CAPACITY) {
            spill(mine);
        }
        mine.slots[mine.count++] = slot;
    }

    /** Slots ever handed out: the table's high-water mark. */
    int capacity() {
        synchronized (lock) {
            return minted;
        }
    }

    /** Buffers held now, counted by a scan: for statistics, not for hot paths. */
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

    /**
     * Visits every buffer still held and empties its slot, and forgets every thread that used this table.
     * Only for shutting down: must not race with {@link #put} or {@link #remove}.
     *
     * @return how many buffers were still held
     */
    int drain(Consumer<ByteBuf> action) {
        List<Cleaner.Cleanable> registered;
        synchronized (lock) {
            registered = new ArrayList<>(threads);
            threads.clear();
        }
        registered.forEach(Cleaner.Cleanable::clean);
        int drained = 0;
        ByteBuf[][] table = pages;
        for (ByteBuf[] page : table) {
            if (page == null) {
                continue;
            }
            for (int i = 0; i < page.length; i++) {
                ByteBuf buffer = page[i];
                if (buffer != null) {
                    page[i] = null;
                    action.accept(buffer);
                    drained++;
                }
            }
        }
        return drained;
    }

    // ---------------------------------------------------------------------------------------------
    // Slow paths: once per thread, once per BATCH slots

    private LocalSlots register() {
        LocalSlots mine = new LocalSlots();
        local.set(mine);
        // when the thread ends its spare slot numbers go back to the pool instead of being lost
        Cleaner.Cleanable registration = THREAD_ENDS.register(Thread.currentThread(),
            new ReturnOnThreadEnd(new WeakReference<>(this), mine));
        synchronized (lock) {
            threads.add(registration);
        }
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
        if (minted > Integer.MAX_VALUE - BATCH) {
            return false;
        }
        int page = (minted + BATCH - 1) >>> PAGE_SHIFT;
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

    /** One thread's spare slot numbers: touched only by that thread, then by its cleaner. */
    private static final class LocalSlots {
        final int[] slots = new int[LOCAL_CAPACITY];
        int count;
    }

    /**
     * Gives a finished thread's spare slots back. Refers to the thread's slots, never to the thread, and
     * to the table only weakly, so a dropped table is not kept alive by threads that used it.
     */
    private record ReturnOnThreadEnd(WeakReference<BufferSlots> owner, LocalSlots slots) implements Runnable {
        @Override
        public void run() {
            BufferSlots table = owner.get();
            if (table == null) {
                return;
            }
            synchronized (table.lock) {
                table.give(slots.slots, 0, slots.count);
                slots.count = 0;
            }
        }
    }
}
