package org.platformmemory.arena;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * Huge chunks whose block was freed, kept for the next huge block that fits them, up to a number of
 * bytes. A huge block has a mapping of its own; a new mapping costs little, but its pages fault in
 * again as the block is written (3 us a page on the benchmark machine, 0.4 s for 512 MiB), and closing
 * it unmaps them, so a program that frees and allocates the same big buffer again (a level's streaming
 * buffer, a frame's scratch area, a database's page cache) would pay every page's fault each time. C
 * heaps keep such memory too (glibc raises its mmap threshold to the size of a mapped block once it is
 * freed, up to 32 MiB, and serves the next one from its heap).
 *
 * <p>A spare is reused for a block of at least seven eighths of its size, so a small block never ties
 * up a big spare; the oldest spares are closed first when a newly freed chunk needs room. Not
 * thread-safe: its {@link PageHeap} calls it under its lock.
 */
final class HugeSpares {

    private final long budget;
    private final ArrayDeque<Chunk> spares = new ArrayDeque<>(); // oldest first
    private long bytes;
    private long reused;

    /** @param budget the most bytes of spare chunks kept; 0 keeps none */
    HugeSpares(long budget) {
        this.budget = budget;
    }

    /**
     * The smallest spare of {@code size} bytes or more (and less than 8/7 of it) whose base is aligned
     * to {@code alignment}, taken out of the spares; or {@code null}.
     */
    Chunk take(long size, long alignment) {
        Chunk best = null;
        for (Chunk spare : spares) {
            if (spare.size >= size && spare.size - size <= spare.size / 8 && (spare.base & (alignment - 1)) == 0
                && (best == null || spare.size < best.size)) {
                best = spare;
            }
        }
        if (best != null) {
            spares.remove(best);
            bytes -= best.size;
            reused++;
        }
        return best;
    }

    /**
     * Keeps a huge chunk whose block was freed, closing the oldest spares if it needs their room, or
     * closes it when it is larger than the whole budget. Returns how many chunks it closed.
     */
    int keep(Chunk chunk) {
        if (chunk.size > budget) {
            chunk.release();
            return 1;
        }
        int closed = 0;
        while (bytes + chunk.size > budget) {
            Chunk oldest = spares.removeFirst();
            bytes -= oldest.size;
            oldest.release();
            closed++;
        }
        spares.addLast(chunk);
        bytes += chunk.size;
        return closed;
    }

    /** Closes every spare; returns how many there were. */
    int clear() {
        int count = spares.size();
        for (Iterator<Chunk> it = spares.iterator(); it.hasNext(); ) {
            it.next().release();
            it.remove();
        }
        bytes = 0;
        return count;
    }

    int count() {
        return spares.size();
    }

    long bytes() {
        return bytes;
    }

    /** The spares' resident bytes, or -1 if the system cannot say. */
    long resident() {
        long total = 0;
        for (Chunk spare : spares) {
            long r = spare.resident();
            if (r < 0) {
                return -1;
            }
            total += r;
        }
        return total;
    }

    /** How many huge blocks a spare served. */
    long reused() {
        return reused;
    }
}
