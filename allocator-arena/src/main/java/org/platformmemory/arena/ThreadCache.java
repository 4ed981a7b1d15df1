package org.platformmemory.arena;

/**
 * One thread's stacks of free small blocks, one per size class, in a single array. Only its owner
 * thread touches it while that thread lives; after the thread has ended, {@link ArenaAllocator} drains
 * it (a thread's end happens-before another thread sees {@code isAlive() == false}).
 *
 * <p>A class's stack holds at most {@code cacheBlocks} blocks and at most about {@code cacheBytes}
 * bytes (but at least two blocks). When it is empty, half a stack is taken from the shared bin in one
 * batch; when it is full, the older half goes back in one batch.
 */
final class ThreadCache {

    final Thread owner;
    final long[] blocks;
    final int[] start = new int[SizeClasses.COUNT];
    final int[] count = new int[SizeClasses.COUNT];
    final int[] capacity = new int[SizeClasses.COUNT];
    int misses;

    ThreadCache(Thread owner, int cacheBlocks, long cacheBytes) {
        this.owner = owner;
        int total = 0;
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            start[c] = total;
            capacity[c] = (int) Math.max(2, Math.min(cacheBlocks, cacheBytes / SizeClasses.sizeOf(c)));
            total += capacity[c];
        }
        this.blocks = new long[total];
    }

    /** Gives every cached block back to {@code heap}'s bins. */
    void drain(PageHeap heap) {
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            if (count[c] > 0) {
                heap.bin(c).give(blocks, start[c], count[c]);
                count[c] = 0;
            }
        }
    }
}
