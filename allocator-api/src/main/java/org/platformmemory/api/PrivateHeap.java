package org.platformmemory.api;

import org.platformmemory.api.internal.BlockRelease;
import org.platformmemory.api.internal.ErrorReporter;
import org.platformmemory.api.internal.HeapRecord;
import org.platformmemory.api.internal.HeapRegistry;
import org.platformmemory.api.internal.LiveBlocks;

/**
 * A private heap ({@code HeapCreate}): a group of blocks that {@link #destroy()} frees at once. Its
 * blocks are ordinary blocks of its {@link TrackedAllocator} otherwise: {@link TrackedAllocator#free},
 * {@link TrackedAllocator#reallocate} (a block stays in its heap) and the statistics see them. It uses
 * a heap of the backend's own when the backend has them, which gives all their memory back at once.
 *
 * <p>Like a Win32 heap, its calls are serialised: a free can never meet a destroy half-way. A destroyed
 * heap refuses further calls with {@link ErrorCode#INVALID_HEAP}. Thread-safe.
 *
 * <pre>{@code
 * try (PrivateHeap level = memory.createHeap()) {
 *     long mesh = level.allocate(4096, MemoryFlags.CLEAR);
 * } // every block of the level is freed here
 * }</pre>
 */
public final class PrivateHeap implements AutoCloseable {

    /** The largest {@link #id()}: at most this many heaps are alive at once. */
    public static final int MAX_ID = HeapRegistry.MAX_HEAPS;

    private final TrackedAllocator owner;
    private final HeapRecord record;
    private final BlockRelease release;
    private final LiveBlocks live;
    private final ErrorReporter errors;

    PrivateHeap(TrackedAllocator owner, HeapRecord record, BlockRelease release, LiveBlocks live, ErrorReporter errors) {
        this.owner = owner;
        this.record = record;
        this.release = release;
        this.live = live;
        this.errors = errors;
    }

    /** The heap's id (1 to {@link #MAX_ID}), as {@link TrackedAllocator#heapOf} names it; reused once a heap is destroyed. */
    public int id() {
        return record.id;
    }

    /** {@link #allocate(long, int, int)} with the caller as the site. */
    public long allocate(long size, int flags) {
        return allocate(size, flags, 0);
    }

    /**
     * Allocates a 16-byte-aligned block in this heap; as {@link TrackedAllocator#allocate(long, int, long, int)}
     * otherwise.
     *
     * @return the block, or 0 on failure or when the heap is destroyed ({@link ErrorCode#INVALID_HEAP})
     */
    public long allocate(long size, int flags, int site) {
        synchronized (record) {
            if (record.destroyed()) {
                errors.report(ErrorCode.INVALID_HEAP, "heapAllocate(" + record.id + "): the heap was destroyed", 0);
                return 0;
            }
            return owner.allocateChecked(record, size, flags, Allocator.MIN_ALIGNMENT, site);
        }
    }

    /** {@link #free(long)} of a C caller whose call stack is {@code site} ({@code debug} records it). */
    public boolean free(long address, int site) {
        owner.freeingAt(site);
        try {
            return free(address);
        } finally {
            owner.freeingAt(org.platformmemory.api.internal.SiteTable.NONE);
        }
    }

    /**
     * Frees a block of this heap ({@code HeapFree}). A block of another heap, or of none, is reported as
     * {@link ErrorCode#INVALID_POINTER} and left alone; otherwise as {@link TrackedAllocator#free}.
     *
     * @return whether a block was freed ({@code address == 0} counts as done)
     */
    public boolean free(long address) {
        if (address == 0) {
            return true;
        }
        int tag = live.heapTagOf(address);
        if (tag != record.tag && (tag >= 0 || !release.knows(address))) {
            // a block of another heap or of none, or a pointer the facade knows nothing of (a block of
            // the C shim's caches, a stray pointer); a freed block or an interior pointer go on to the
            // claim below, which reports them as every free does
            reportOtherHeap("heapFree", address, tag);
            return false;
        }
        if (owner.isClosed()) {
            owner.rejectClosed("free");
            return false;
        }
        // as TrackedAllocator.free, but knowing whether the block went: a block freed meanwhile, or one whose
        // header is damaged (kept, not freed), is reported by the claim and is no block freed
        long word0 = release.claim(address, 0, false);
        if (word0 == 0) {
            return false;
        }
        release.release(address, word0);
        return true;
    }

    /**
     * The requested size of a live block of this heap ({@code HeapSize}). A block of another heap or of
     * none, or an address that is not a live block, is reported as {@link ErrorCode#INVALID_POINTER}; a
     * destroyed heap as {@link ErrorCode#INVALID_HEAP}.
     *
     * @return the size, or 0 after a report
     */
    public long sizeOf(long address) {
        if (record.destroyed()) {
            errors.report(ErrorCode.INVALID_HEAP, "heapSize(" + record.id + "): the heap was destroyed", 0);
            return 0;
        }
        int tag = live.heapTagOf(address);
        if (tag != record.tag) {
            reportOtherHeap("heapSize", address, tag);
            return 0;
        }
        return live.sizeOf(address);
    }

    private void reportOtherHeap(String op, long address, int tag) {
        String whose = tag < 0 ? "is not a live block of this heap"
            : "belongs to " + (HeapRegistry.idOf(tag) == 0 ? "no heap" : "heap " + HeapRegistry.idOf(tag));
        errors.report(ErrorCode.INVALID_POINTER, op + "(" + record.id + ", " + ErrorReporter.hex(address) + "): the block "
            + whose + "; nothing was done", address);
    }

    /**
     * Frees every block still in the heap (counted as frees) and the heap itself ({@code HeapDestroy}).
     *
     * @return true, or false when it was destroyed already ({@link ErrorCode#INVALID_HEAP}) or the allocator
     *         is closed ({@link ErrorCode#CLOSED})
     */
    public boolean destroy() {
        if (owner.isClosed()) {
            owner.rejectClosed("destroyHeap");
            return false;
        }
        if (record.destroyed()) {
            errors.report(ErrorCode.INVALID_HEAP, "destroyHeap(" + record.id + "): the heap was destroyed already", 0);
            return false;
        }
        return release.destroy(record);
    }

    /** Whether {@link #destroy()} has been called (or the allocator closed). */
    public boolean isDestroyed() {
        return record.destroyed();
    }

    /** Destroys the heap unless it is destroyed already; never reports. */
    @Override
    public void close() {
        if (!record.destroyed() && !owner.isClosed()) {
            release.destroy(record);
        }
    }
}
