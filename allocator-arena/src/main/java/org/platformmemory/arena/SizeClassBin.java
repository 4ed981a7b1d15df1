package org.platformmemory.arena;

/**
 * The shared blocks of one size class in one {@link PageHeap}: a list of slabs that have free blocks.
 * Thread caches take and give back blocks here in batches, so its lock is taken once per batch, not
 * once per block.
 *
 * <p>A slab whose blocks are all back goes back to the page heap, except the last slab of the class,
 * which is kept so that a lone allocate/free pair does not carve and release a slab each time
 * ({@link #trim} releases it).
 *
 * <p>Thread-safe. Lock order: a bin's lock, then the page heap's lock; never the other way.
 */
final class SizeClassBin {

    private final int sizeClass;
    private final int slabPages;
    private final PageHeap heap;
    private Slab head;

    SizeClassBin(int sizeClass, PageHeap heap) {
        this.sizeClass = sizeClass;
        // at least 16 KiB and at least eight blocks
        long bytes = Math.max(16 * 1024, 8L * PageHeap.CLASSES.size(sizeClass));
        this.slabPages = (int) ((bytes + Chunk.PAGE - 1) >>> Chunk.PAGE_SHIFT);
        this.heap = heap;
    }

    /** One block, or 0 when no memory is left. */
    synchronized long take() {
        Slab slab = head != null ? head : grow();
        if (slab == null) {
            return 0;
        }
        long block = slab.take();
        if (slab.isFull()) {
            unlink(slab);
        }
        return block;
    }

    /**
     * Takes up to {@code count} blocks into {@code into[at..]}.
     *
     * @return how many were taken: 0 only when no memory is left
     */
    synchronized int take(long[] into, int at, int count) {
        int taken = 0;
        while (taken < count) {
            Slab slab = head;
            if (slab == null) {
                try {
                    slab = grow();
                } catch (RuntimeException | Error e) {
                    if (taken == 0) {
                        throw e;
                    }
                    break; // the blocks taken so far are handed over, not lost
                }
            }
            if (slab == null) {
                break;
            }
            while (taken < count) {
                long block = slab.take();
                if (block == 0) {
                    break;
                }
                into[at + taken++] = block;
            }
            if (slab.isFull()) {
                unlink(slab);
            }
        }
        return taken;
    }

    /** Gives back one block of this class. */
    synchronized void give(long block) {
        giveOne(block);
    }

    /** Gives back the blocks in {@code from[at..at+count)}. */
    synchronized void give(long[] from, int at, int count) {
        for (int i = at; i < at + count; i++) {
            giveOne(from[i]);
        }
    }

    /** Releases every empty slab this bin still keeps, so that their chunks can go. */
    synchronized void trim() {
        Slab slab = head;
        while (slab != null) {
            Slab next = slab.next;
            if (slab.isEmpty()) {
                unlink(slab);
                heap.releaseSlab(slab);
            }
            slab = next;
        }
    }

    private void giveOne(long block) {
        Chunk chunk = heap.chunkOf(block);
        Slab slab = chunk.slabAt(chunk.pageOf(block));
        slab.give(block);
        if (!slab.listed) {
            push(slab);
        } else if (slab.isEmpty() && (slab.previous != null || slab.next != null)) {
            unlink(slab);
            heap.releaseSlab(slab);
        }
    }

    /** Drops every slab: their chunks are closed. */
    synchronized void forget() {
        head = null;
    }

    private Slab grow() {
        Slab slab = heap.newSlab(sizeClass, slabPages);
        if (slab != null) {
            push(slab);
        }
        return slab;
    }

    private void push(Slab slab) {
        slab.previous = null;
        slab.next = head;
        if (head != null) {
            head.previous = slab;
        }
        head = slab;
        slab.listed = true;
    }

    private void unlink(Slab slab) {
        if (slab.previous != null) {
            slab.previous.next = slab.next;
        } else {
            head = slab.next;
        }
        if (slab.next != null) {
            slab.next.previous = slab.previous;
        }
        slab.previous = null;
        slab.next = null;
        slab.listed = false;
    }
}
