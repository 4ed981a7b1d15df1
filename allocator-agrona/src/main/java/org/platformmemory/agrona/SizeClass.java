package org.platformmemory.agrona;

import java.util.concurrent.locks.ReentrantLock;

import org.agrona.concurrent.ManyToManyConcurrentArrayQueue;

import org.platformmemory.api.kit.AddressIndex;

/**
 * The slabs of one slot size: a current slab every thread takes slots from, a lock-free queue of slabs
 * that got free slots back, and the table that maps a freed block to its slab.
 *
 * <p>Fast paths ({@link #allocate}, {@link #free}, and the batches {@link #take} and {@link #give} that
 * thread caches use) are CASes on slab heads (a pop also takes its slab's monitor, see {@link Slab}) and
 * allocate nothing. Changing the current slab, making
 * a slab and releasing empty ones take the class's lock; a free never waits for it (it only tries it).
 * Requested bytes (for the rounding waste) are counted by the caller, per thread.
 */
final class SizeClass {

    private final int slotSize;
    private final int slabSize;
    private final SlabSettings settings;
    private final MemoryBudget budget;
    private final SlabAllocator owner;
    private final ReentrantLock lock = new ReentrantLock();
    private final long[] slowScratch = new long[1];
    private final ManyToManyConcurrentArrayQueue<Slab> available;

    private volatile Slab current;
    // the slabs by address, so a freed block finds its slab without a lock; replaced under the lock
    private volatile AddressIndex<Slab> table = AddressIndex.empty();
    private long slabsReleased;

    SizeClass(int slotSize, SlabSettings settings, MemoryBudget budget, SlabAllocator owner) {
        this.slotSize = slotSize;
        this.slabSize = settings.slabSize();
        this.settings = settings;
        this.budget = budget;
        this.owner = owner;
        this.available = new ManyToManyConcurrentArrayQueue<>(Math.min(1024, Math.max(2, settings.maxSlabsPerClass())));
    }

    int slotSize() {
        return slotSize;
    }

    /** @return a slot's address, or 0 when the per-class cap or the JVM's direct memory is exhausted */
    long allocate() {
        Slab slab = current;
        if (slab != null) {
            int index = slab.pop();
            if (index >= 0) {
                return slab.address(index);
            }
        }
        return allocateSlow();
    }

    /**
     * Takes up to {@code n} (at least 1) free slots at once, from one slab, into {@code dest[at..]}.
     *
     * @return how many were taken; 0 when the per-class cap or the JVM's direct memory is exhausted
     */
    int take(long[] dest, int at, int n) {
        Slab slab = current;
        if (slab != null) {
            int taken = slab.pop(dest, at, n);
            if (taken > 0) {
                return taken;
            }
        }
        return takeSlow(dest, at, n);
    }

    /** Gives back a slot {@link #allocate} returned; any thread may call it. */
    void free(long address) {
        Slab slab = table.floor(address);
        int outcome = slab.push(slab.indexOf(address));
        if (outcome != 0) {
            freeSlow(slab, outcome);
        }
    }

    /** Gives back the slots at {@code src[at..at + n)}, each to its own slab; any thread may call it. */
    void give(long[] src, int at, int n) {
        AddressIndex<Slab> slabs = table;
        for (int i = at; i < at + n; i++) {
            long address = src[i];
            Slab slab = slabs.floor(address);
            int outcome = slab.push(slab.indexOf(address));
            if (outcome != 0) {
                freeSlow(slab, outcome);
                slabs = table; // a slab may have been released
            }
        }
    }

    private void freeSlow(Slab slab, int outcome) {
        if ((outcome & Slab.BECAME_AVAILABLE) != 0) {
            // when the queue is full the slab stays marked; the slow path's scan still finds it
            available.offer(slab);
        }
        if ((outcome & Slab.BECAME_EMPTY) != 0 && slab != current) {
            long now = System.nanoTime();
            slab.markEmpty(now);
            if ((settings.reclaims() || budget.exceeded()) && lock.tryLock()) {
                try {
                    reclaimLocked(now, budget.exceeded());
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    private long allocateSlow() {
        lock.lock(); // reentrant: takeSlow takes it again; the scratch slot is guarded by it
        try {
            return takeSlow(slowScratch, 0, 1) > 0 ? slowScratch[0] : 0;
        } finally {
            lock.unlock();
        }
    }

    private int takeSlow(long[] dest, int at, int n) {
        lock.lock();
        try {
            while (true) {
                Slab slab = takeSlab();
                if (slab == null) {
                    return 0;
                }
                int taken = slab.pop(dest, at, n);
                if (taken > 0) {
                    return taken;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Makes a slab with a free slot current: the current one, a queued one, any one, or a new one. */
    private Slab takeSlab() {
        Slab slab = current;
        if (slab != null && slab.freeSlots() > 0) {
            return slab;
        }
        while ((slab = available.poll()) != null) {
            if (slab.unqueue() && slab.freeSlots() > 0) {
                current = slab;
                return slab;
            }
        }
        AddressIndex<Slab> slabs = table;
        for (int i = 0; i < slabs.size(); i++) {
            slab = slabs.get(i);
            if (!slab.isRetired() && slab.freeSlots() > 0) {
                current = slab;
                return slab;
            }
        }
        if (owner.retireEndedMagazines()) {
            // ended threads' cached slots went back to their slabs: look again before growing
            return takeSlab();
        }
        if (slabs.size() >= settings.maxSlabsPerClass()) {
            return null;
        }
        long bytes = slabSize + Slab.PAGE;
        long now = System.nanoTime();
        if (budget.wouldExceed(bytes)) {
            owner.releaseEmptySlabs();
        } else if (settings.reclaims()) {
            reclaimLocked(now, false);
        }
        slab = Slab.allocate(slabSize, slotSize, now);
        if (slab == null) {
            return null;
        }
        budget.add(bytes);
        table = table.with(slab.base(), slab);
        current = slab;
        return slab;
    }

    /**
     * Releases empty slabs beyond the ones the policy keeps: each class keeps its most recently emptied
     * {@code emptySlabsKept} slabs and anything emptied less than the reclaim delay ago. With
     * {@code force}, every empty slab goes. Caller holds the lock.
     */
    private void reclaimLocked(long now, boolean force) {
        AddressIndex<Slab> slabs = table;
        Slab cur = current;
        if (force && cur != null && cur.freeSlots() == cur.slotCount()) {
            // under the limit's pressure even the current slab goes if it is empty; a thread still
            // holding it finds it retired (no free slot) and comes here for another
            current = null;
            cur = null;
        }
        int empty = 0;
        for (int i = 0; i < slabs.size(); i++) {
            Slab s = slabs.get(i);
            if (s != cur && !s.isRetired() && s.freeSlots() == s.slotCount()) {
                empty++;
            }
        }
        int keep = force ? 0 : settings.emptySlabsKept();
        long delay = force ? 0 : settings.reclaimDelayNanos();
        boolean released = false;
        while (empty > keep) {
            Slab oldest = null;
            for (int i = 0; i < slabs.size(); i++) {
                Slab s = slabs.get(i);
                if (s != cur && !s.isRetired() && s.freeSlots() == s.slotCount()
                    && (oldest == null || s.emptySince() - oldest.emptySince() < 0)) {
                    oldest = s;
                }
            }
            if (oldest == null || now - oldest.emptySince() < delay) {
                break;
            }
            empty--;
            if (oldest.retireIfEmpty()) {
                oldest.release();
                budget.remove(slabSize + Slab.PAGE);
                slabsReleased++;
                released = true;
            }
        }
        if (released) {
            table = slabs.withoutIf(Slab::isRetired);
        }
    }

    /** Runs the reclaim policy now (or releases every empty slab with {@code force}); skips a busy class. */
    void reclaim(boolean force) {
        if (!force && !settings.reclaims() && !budget.exceeded()) {
            return;
        }
        if (lock.tryLock()) {
            try {
                reclaimLocked(System.nanoTime(), force);
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Adds {@code class.<size>.*} figures to {@code out}.
     *
     * @param requested bytes requested for the live blocks of this class
     * @param cached    free slots of this class sitting in thread thread caches (free, but off the slabs' stacks)
     */
    void statistics(java.util.Map<String, Long> out, long requested, long cached) {
        AddressIndex<Slab> slabs = table;
        long used = 0;
        long free = 0;
        long tails = 0;
        for (int i = 0; i < slabs.size(); i++) {
            Slab s = slabs.get(i);
            int f = s.freeSlots();
            free += f;
            used += s.slotCount() - f;
            tails += slabSize - (long) s.slotCount() * slotSize;
        }
        String prefix = "class." + slotSize + ".";
        out.put(prefix + "slabs", (long) slabs.size());
        // read racily from other threads' thread caches: exact only when they are quiet
        long live = Math.max(0, used - cached);
        out.put(prefix + "slotsUsed", live);
        out.put(prefix + "slotsFree", free + (used - live));
        out.put(prefix + "slotsCached", used - live);
        // rounding inside used slots plus the tail of each slab too short for a slot
        out.put(prefix + "wasteBytes", live * slotSize - requested + tails);
        lock.lock();
        try {
            out.put(prefix + "slabsReleased", slabsReleased);
        } finally {
            lock.unlock();
        }
    }

    /** Frees every slab. Only when no other thread uses this class any more. */
    void close() {
        lock.lock();
        try {
            AddressIndex<Slab> slabs = table;
            for (int i = 0; i < slabs.size(); i++) {
                Slab s = slabs.get(i);
                if (!s.isRetired()) {
                    s.release();
                    budget.remove(slabSize + Slab.PAGE);
                }
            }
            table = AddressIndex.empty();
            current = null;
        } finally {
            lock.unlock();
        }
    }
}
