package org.platformmemory.agrona;

import org.agrona.UnsafeApi;
import org.agrona.collections.Long2LongHashMap;
import org.platformmemory.api.Allocator;

/**
 * Blocks above the largest size class: each gets an aligned buffer of its own from the C heap, tracked
 * by its aligned address in a primitive map (aligned address to the address to free), so nothing is
 * boxed. These are rare and large, so one lock guards the map.
 */
final class LargeBlocks {

    private final MemoryBudget budget;
    // a monitor rather than a ReentrantLock: under C1 (the shim's only compiler on 2 CPUs) a 1 MiB pair took
    // 8% less (333-354 against 359-398 ns in the C-ABI micro test), level under C2; since JDK 24 a monitor
    // no longer pins a virtual thread
    private final Object lock = new Object();
    private final Long2LongHashMap rawByAligned = new Long2LongHashMap(64, 0.65f, 0);
    private long bytes;

    LargeBlocks(MemoryBudget budget) {
        this.budget = budget;
    }

    /** @return an address aligned to {@code alignment}, or 0 when the C heap has no memory for it */
    long allocate(long size, long alignment) {
        long reserve = reservation(size, alignment);
        long raw;
        try {
            raw = UnsafeApi.allocateMemory(reserve);
        } catch (OutOfMemoryError | IllegalArgumentException e) {
            return 0;
        }
        if (raw == 0) {
            return 0;
        }
        // malloc gives 16-byte alignment; anything more comes from the extra bytes reserved
        long aligned = (raw + alignment - 1) & -alignment;
        synchronized (lock) {
            rawByAligned.put(aligned, raw);
            bytes += reserve;
        }
        budget.add(reserve);
        return aligned;
    }

    /** Frees a block {@link #allocate} returned, given its exact size and alignment. */
    void free(long address, long size, long alignment) {
        long raw;
        long reserve = reservation(size, alignment);
        synchronized (lock) {
            raw = rawByAligned.remove(address);
            bytes -= reserve;
        }
        budget.remove(reserve);
        UnsafeApi.freeMemory(raw);
    }

    /**
     * Resizes a 16-byte aligned block with the C heap's {@code realloc}, which may grow it in place.
     *
     * @return the new address, or 0 with the old block intact
     */
    long reallocate(long address, long oldSize, long newSize) {
        long moved;
        synchronized (lock) {
            // under the lock: the map must never name an address that realloc already gave back
            try {
                moved = UnsafeApi.reallocateMemory(address, newSize);
            } catch (OutOfMemoryError | IllegalArgumentException e) {
                return 0;
            }
            if (moved == 0) {
                return 0;
            }
            rawByAligned.remove(address);
            rawByAligned.put(moved, moved);
            bytes += newSize - oldSize;
        }
        budget.add(newSize - oldSize);
        return moved;
    }

    private static long reservation(long size, long alignment) {
        return size + alignment - Allocator.MIN_ALIGNMENT;
    }

    /** Live large blocks. */
    int count() {
        synchronized (lock) {
            return rawByAligned.size();
        }
    }

    /** Bytes reserved for live large blocks. */
    long bytes() {
        synchronized (lock) {
            return bytes;
        }
    }

    /** Frees every block still here. */
    void close() {
        synchronized (lock) {
            rawByAligned.forEachLong((aligned, raw) -> UnsafeApi.freeMemory(raw));
            rawByAligned.clear();
            budget.remove(bytes);
            bytes = 0;
        }
    }
}
