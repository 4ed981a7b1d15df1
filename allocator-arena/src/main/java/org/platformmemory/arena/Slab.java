package org.platformmemory.arena;

import java.lang.foreign.ValueLayout;

/**
 * A run of pages in a {@link Chunk} carved into blocks of one size class. Free blocks form a list
 * threaded through their own first eight bytes; blocks never handed out yet are taken by bumping an
 * index, so a new slab costs nothing per block.
 *
 * <p>Not thread-safe: guarded by the lock of its {@link SizeClassBin}.
 */
final class Slab {

    private static final ValueLayout.OfLong NEXT = ValueLayout.JAVA_LONG;

    final Chunk chunk;
    final int firstPage;
    final int pages;
    final int sizeClass;
    final int capacity;
    private final long base;
    private final int blockSize;

    private int bumped;
    private long freeHead;
    private int used;

    // the bin's list of slabs with free blocks
    Slab previous;
    Slab next;
    boolean listed;

    Slab(Chunk chunk, int firstPage, int pages, int sizeClass) {
        this.chunk = chunk;
        this.firstPage = firstPage;
        this.pages = pages;
        this.sizeClass = sizeClass;
        this.blockSize = PageHeap.CLASSES.size(sizeClass);
        this.base = chunk.addressOf(firstPage);
        this.capacity = (int) (((long) pages << Chunk.PAGE_SHIFT) / blockSize);
    }

    /** A free block's address, or 0 when every block is in use. */
    long take() {
        long block = freeHead;
        if (block != 0) {
            freeHead = chunk.segment.get(NEXT, block - chunk.base);
            used++;
            return block;
        }
        if (bumped < capacity) {
            used++;
            return base + (long) blockSize * bumped++;
        }
        return 0;
    }

    /** Takes back a block of this slab. */
    void give(long block) {
        chunk.segment.set(NEXT, block - chunk.base, freeHead);
        freeHead = block;
        used--;
    }

    boolean isFull() {
        return used == capacity;
    }

    boolean isEmpty() {
        return used == 0;
    }
}
