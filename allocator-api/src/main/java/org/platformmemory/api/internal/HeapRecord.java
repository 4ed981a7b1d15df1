package org.platformmemory.api.internal;

import org.platformmemory.api.Allocator;

/**
 * The state of one private heap: its blocks and where their memory comes from (a heap of the backend's
 * own, or the backend). Every change holds the record's monitor, as a Win32 heap serialises its calls,
 * so a free can never meet a destroy half-way. Blocks carry its {@link #tag}: the id, whether the heap
 * is native, and a generation, so a block of a destroyed heap is never taken for one of a later heap
 * with the same id.
 */
public final class HeapRecord {

    /** The heap's id, 1 to {@link HeapRegistry#MAX_HEAPS}. */
    public final int id;
    /** What its blocks' headers carry. */
    public final int tag;
    /** Where its blocks' memory comes from. */
    public final Allocator allocator;
    /** Whether {@link #allocator} is a heap of the backend's own, which takes all its memory back on close. */
    public final boolean isNative;
    /** Its live blocks. */
    public final LiveBlockSet blocks = new LiveBlockSet(4);
    /** Set under the monitor; read without it by lookups that re-check under it. */
    volatile boolean destroyed;
    /** Blocks a free or realloc had claimed when destroy came: their memory must stay until they finish. */
    int pendingReleases;

    HeapRecord(int id, int tag, Allocator allocator, boolean isNative) {
        this.id = id;
        this.tag = tag;
        this.allocator = allocator;
        this.isNative = isNative;
    }

    /** Whether the heap has been destroyed (its blocks freed, or about to be). */
    public boolean destroyed() {
        return destroyed;
    }
}
