package org.platformmemory.agrona;

import java.util.ArrayList;

/**
 * Per-thread magazines in front of the slabs: a thread allocates from and frees into its own
 * {@link ThreadMagazine}, touching no shared atomic and allocating nothing. An empty magazine takes half
 * its capacity from the slabs in one batch; a full one gives its older half back, each slot to its own
 * slab, so a slot freed by another thread goes home once that thread's magazine spills.
 *
 * <p>A slot in a magazine is free to callers but keeps its slab from being released. Slots come back to
 * the slabs when a magazine spills, when its thread calls {@link #flushCurrent} (the allocator's
 * {@code reclaim}, and under the limit's pressure before a new slab), and when a thread has ended:
 * {@link #retireEnded} hands back ended threads' magazines and is called by every new thread, every 256
 * refills and before a class makes a new slab, so nothing waits for a GC. Live threads' magazines are
 * never drained by another thread.
 *
 * <p>Also counts the requested bytes of live blocks per class (for the rounding waste), per thread with
 * plain writes, summed racily by {@link #totals}.
 */
final class Magazines {

    /** A class's magazine holds at most about this many bytes (and at least one slot). */
    static final int MAX_BYTES_PER_CLASS = 64 << 10;
    private static final int RETIRE_EVERY_REFILLS = 256;

    private final SizeClass[] classes;
    private final int[] capacity;
    private final ThreadLocal<ThreadMagazine> local = ThreadLocal.withInitial(this::register);
    // guarded by itself, as is retiredRequested
    private final ArrayList<ThreadMagazine> registered = new ArrayList<>();
    private final long[] retiredRequested;

    /** @param magazineSize slots per class and thread at most; 0 for no magazines (counting only) */
    Magazines(SizeClass[] classes, int magazineSize) {
        this.classes = classes;
        this.capacity = new int[classes.length];
        for (int c = 0; c < classes.length; c++) {
            capacity[c] = magazineSize == 0 ? 0
                : Math.max(1, Math.min(magazineSize, MAX_BYTES_PER_CLASS / classes[c].slotSize()));
        }
        this.retiredRequested = new long[classes.length];
    }

    /** @return a slot of class {@code c} for a block of {@code size} bytes, or 0 when none can be had */
    long allocate(int c, long size) {
        ThreadMagazine m = local.get();
        long address = m.pop(c);
        if (address == 0) {
            address = refill(m, c);
            if (address == 0) {
                return 0;
            }
        }
        m.requested[c] += size;
        return address;
    }

    /** Frees a slot of class {@code c} that held a block of {@code size} bytes; any thread may call it. */
    void free(int c, long address, long size) {
        ThreadMagazine m = local.get();
        m.requested[c] -= size;
        if (!m.push(c, address)) {
            spill(m, c, address);
        }
    }

    /** A block resized within its slot of class {@code c}: only the requested bytes change. */
    void resized(int c, long oldSize, long newSize) {
        local.get().requested[c] += newSize - oldSize;
    }

    private long refill(ThreadMagazine m, int c) {
        int cap = m.capacity[c];
        if (cap == 0) {
            return classes[c].allocate();
        }
        if (++m.misses % RETIRE_EVERY_REFILLS == 0) {
            retireEnded();
        }
        int at = m.start[c];
        int taken = classes[c].take(m.slots, at, Math.max(1, cap >> 1));
        if (taken == 0) {
            return 0;
        }
        m.count[c] = taken - 1;
        return m.slots[at + taken - 1];
    }

    private void spill(ThreadMagazine m, int c, long address) {
        int n = m.count[c];
        if (n == 0) {
            classes[c].free(address);
            return;
        }
        // the older half goes back; the newer, warmer slots stay
        int half = (n + 1) >> 1;
        int at = m.start[c];
        classes[c].give(m.slots, at, half);
        System.arraycopy(m.slots, at + half, m.slots, at, n - half);
        m.slots[at + n - half] = address;
        m.count[c] = n - half + 1;
    }

    private ThreadMagazine register() {
        ThreadMagazine m = new ThreadMagazine(Thread.currentThread(), capacity.clone());
        retireEnded();
        synchronized (registered) {
            registered.add(m);
        }
        return m;
    }

    /** Gives every slot in the calling thread's magazines back to its slab. */
    void flushCurrent() {
        drain(local.get());
    }

    private void drain(ThreadMagazine m) {
        for (int c = 0; c < classes.length; c++) {
            int n = m.count[c];
            if (n > 0) {
                m.count[c] = 0;
                classes[c].give(m.slots, m.start[c], n);
            }
        }
    }

    /**
     * Hands back the magazines of threads that have ended: their slots to the slabs, their counts to the
     * totals.
     *
     * @return whether any magazine was retired
     */
    boolean retireEnded() {
        boolean retired = false;
        synchronized (registered) {
            for (int i = registered.size() - 1; i >= 0; i--) {
                ThreadMagazine m = registered.get(i);
                if (m.ownerEnded()) {
                    // giving back only ever tries class locks, so holding this lock cannot deadlock
                    drain(m);
                    for (int c = 0; c < classes.length; c++) {
                        retiredRequested[c] += m.requested[c];
                    }
                    registered.set(i, registered.get(registered.size() - 1));
                    registered.remove(registered.size() - 1);
                    retired = true;
                }
            }
        }
        return retired;
    }

    /**
     * Fills {@code requested} with the bytes requested for live blocks per class and {@code cached} with
     * the slots sitting in magazines per class. Racy: exact only while no other thread allocates or frees.
     */
    void totals(long[] requested, long[] cached) {
        synchronized (registered) {
            System.arraycopy(retiredRequested, 0, requested, 0, requested.length);
            java.util.Arrays.fill(cached, 0);
            for (ThreadMagazine m : registered) {
                for (int c = 0; c < classes.length; c++) {
                    requested[c] += m.requested[c];
                    cached[c] += m.count[c];
                }
            }
        }
    }

    /** How many threads have magazines now. */
    int threads() {
        synchronized (registered) {
            return registered.size();
        }
    }

    /** Forgets every magazine: the slabs they point into are about to be released. */
    void close() {
        synchronized (registered) {
            registered.clear();
        }
        local.remove();
    }
}
