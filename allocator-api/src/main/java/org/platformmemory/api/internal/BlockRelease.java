package org.platformmemory.api.internal;

import java.time.Duration;

import org.platformmemory.api.Allocator;
import org.platformmemory.api.ErrorCode;

import static org.platformmemory.api.internal.ErrorReporter.hex;

/**
 * Everything that gives a block's memory back: a claimed block to the allocator it came from (the
 * backend or a private heap), the blocks of a heap being destroyed, and a heap itself once no free
 * under way still needs its memory. The live-bytes total goes down here and nowhere else.
 *
 * <p>A block is "claimed" once its address has been removed from the live-block set: from then on no
 * other thread can free it, so the header may be read and the memory given back. Heap blocks are
 * released under the heap's monitor, which orders them against the heap's destroy.
 */
public final class BlockRelease {

    /** With a grace period, the backend itself is closed this many grace periods after the blocks are freed. */
    public static final int BACKEND_CLOSE_DELAY = 50;

    private final LiveBlockSet blocks;
    private final BlockHeader header;
    private final Accounting accounting;
    private final ErrorReporter errors;
    private final Tracker tracker;
    private final CheckedBackend backend;
    private final HeapRegistry heaps;
    private final PointerDiagnosis diagnosis;
    private final Quarantine quarantine;
    private final TagTable tags;
    /** Whether freed blocks go to the quarantine ({@code debug} with a bound above 0): decided once. */
    private final boolean quarantining;

    public BlockRelease(LiveBlockSet blocks, BlockHeader header, Accounting accounting, ErrorReporter errors,
                        Tracker tracker, CheckedBackend backend, HeapRegistry heaps, PointerDiagnosis diagnosis,
                        Quarantine quarantine, TagTable tags) {
        this.tags = tags;
        this.blocks = blocks;
        this.header = header;
        this.accounting = accounting;
        this.errors = errors;
        this.tracker = tracker;
        this.backend = backend;
        this.heaps = heaps;
        this.diagnosis = diagnosis;
        this.quarantine = quarantine;
        this.quarantining = quarantine.enabled();
    }

    /**
     * Claims a live block for free ({@code realloc} false) or reallocate: takes it out of the live set, so
     * that no other call can have it, and checks its header. {@code size} is the caller's idea of its size
     * (0: unknown; another size is reported and the recorded one used).
     *
     * @return the header's first word (never 0), or 0 after reporting why the block cannot be had
     */
    public long claim(long address, long size, boolean realloc) {
        if (!take(address, realloc)) {
            return 0;
        }
        long word0 = header.word0(address);
        return verified(address, size, realloc, word0, header.word1(address)) ? word0 : 0;
    }

    /**
     * Frees a live block: {@link #claim} and {@link #release} in one, each header word read once (the
     * facade's free). What cannot be freed is reported, and nothing is freed.
     */
    public void free(long address, long size) {
        if (!take(address, false)) {
            return;
        }
        long word0 = header.word0(address);
        long word1 = header.word1(address);
        if (verified(address, size, false, word0, word1)) {
            release(address, word0, word1);
        }
    }

    /** Takes {@code address} out of the live set, or reports why it is not a live block. */
    private boolean take(long address, boolean realloc) {
        if (blocks.remove(address, realloc ? LiveBlockSet.NONE : LiveBlockSet.FREED)) {
            return true;
        }
        diagnosis.reject(address, realloc ? "reallocate" : "free", realloc);
        return false;
    }

    /**
     * Checks a block just taken whose core words are {@code word0} and {@code word1}: a damaged header is
     * reported ({@link ErrorCode#HEADER_CORRUPTED}) and the block put back as live, never freed; a size
     * other than the recorded one is reported, and the recorded one used.
     */
    private boolean verified(long address, long size, boolean realloc, long word0, long word1) {
        if (!header.intact(address, word0, word1)) {
            blocks.add(address, realloc ? LiveBlockSet.NONE : LiveBlockSet.FREE_UNDONE);
            errors.report(ErrorCode.HEADER_CORRUPTED, "the header before block " + hex(address) + " was overwritten"
                + " (a write before the start of the block?); the block is kept, not freed", address);
            return false;
        }
        long recorded = BlockHeader.sizeOf(word0);
        if (size != 0 && size != recorded) {
            diagnosis.sizeMismatch(address, size, recorded, realloc);
        }
        return true;
    }

    /** Whether a free of {@code address}, not a live block, would be told as more than a foreign pointer. */
    public boolean knows(long address) {
        return diagnosis.knows(address);
    }

    /** Gives a claimed block back to where it came from and counts its bytes. */
    public void release(long user, long word0) {
        release(user, word0, header.word1(user));
    }

    private void release(long user, long word0, long word1) {
        int heapTag = BlockHeader.heapOf(word1);
        if (heapTag == 0) {
            releaseTo(backend.backend(), user, word0, word1, true);
        } else {
            releaseHeapBlock(user, word0, word1);
        }
    }

    /** {@link #release} of a block whose header names a private heap: out of line, so the common path stays short. */
    private void releaseHeapBlock(long user, long word0, long word1) {
        HeapRecord heap = heaps.byTag(BlockHeader.heapOf(word1));
        if (heap == null) {
            // a heap that no longer exists cannot have been destroyed after our claim (it waits for us):
            // only a damaged tag could get here, and the header check has ruled that out
            releaseTo(backend.backend(), user, word0, word1, true);
            return;
        }
        synchronized (heap) {
            if (!heap.destroyed) {
                heap.blocks.remove(user, LiveBlockSet.NONE);
                releaseTo(heap.allocator, user, word0, word1, true);
            } else if (heap.isNative) {
                // destroyed after our claim: the heap's close takes the memory back once we are done
                tags.credit(BlockHeader.tagOf(word1), BlockHeader.sizeOf(word0), true);
                tracker.beforeDiscard(user, BlockHeader.sizeOf(word0), "free");
                accounting.add(-BlockHeader.sizeOf(word0));
                releasePending(heap);
            } else {
                releaseTo(backend.backend(), user, word0, word1, true);
                releasePending(heap);
            }
        }
    }

    /**
     * Gives a claimed block with core words {@code word0} and {@code word1} back to {@code source} and
     * counts its bytes; in {@code debug} a block of the backend's goes to the quarantine first unless
     * {@code hold} is false (a heap's bulk destroy).
     */
    private void releaseTo(Allocator source, long user, long word0, long word1, boolean hold) {
        long size = BlockHeader.sizeOf(word0);
        long align = 1L << BlockHeader.alignmentLog2Of(word0);
        tracker.beforeRelease(user, size, "free");
        header.invalidate(user, word1);
        // the counts go down before the memory goes back: a claimed block is no longer the caller's, and
        // nothing needs to live across the backend's call, which C2 cannot keep in registers over (a native
        // call for system): measured, issue 10, 5-13% of a counters pair on every backend
        accounting.add(-size);
        tags.credit(BlockHeader.tagOf(word1), size, true);
        if (!hold || !quarantining || source != backend.backend() || !quarantine.hold(user, word0)) {
            backend.free(source, user - header.offsetFor(align), header.overheadFor(align) + size, align, user);
        }
    }

    /**
     * A claimed heap block being resized whose heap was destroyed after the claim: it goes with its heap.
     * Called with the heap's monitor held; {@code bytes} is what the block counted for.
     */
    public void discardWithHeap(HeapRecord heap, long user, long bytes) {
        accounting.add(-bytes);
        blocks.record(user, LiveBlockSet.FREED);
        releasePending(heap);
    }

    /**
     * Destroys a heap: frees every block it still has (counted as frees) and then the heap, or leaves the
     * heap to the last free already under way on another thread.
     *
     * @return false if it was destroyed already
     */
    public boolean destroy(HeapRecord heap) {
        synchronized (heap) {
            if (heap.destroyed) {
                return false;
            }
            heap.destroyed = true;
            for (long user : heap.blocks.drain(LiveBlockSet.NONE)) {
                if (!blocks.remove(user, LiveBlockSet.FREED)) {
                    // a free or realloc on another thread has claimed it and will come to this heap's
                    // monitor: the memory must stay mapped until it has
                    heap.pendingReleases++;
                    continue;
                }
                long word0 = header.word0(user);
                if (heap.isNative) {
                    // the heap's close below returns its memory in one go
                    tags.credit(header.tag(user), BlockHeader.sizeOf(word0), true);
                    tracker.beforeDiscard(user, BlockHeader.sizeOf(word0), "destroyHeap");
                    accounting.add(-BlockHeader.sizeOf(word0));
                } else {
                    // a heap's destroy gives its memory back at once, as a native heap's close does
                    releaseTo(backend.backend(), user, word0, header.word1(user), false);
                }
            }
            if (heap.pendingReleases == 0) {
                finishDestroy(heap);
            }
        }
        return true;
    }

    /**
     * The end of a facade whose calls are refused already: after {@code grace} for calls under way, destroys
     * every heap and frees every block still live (all counted as frees), then closes the backend
     * {@value #BACKEND_CLOSE_DELAY} grace periods later, so that even a call descheduled mid-way never
     * touches unmapped memory.
     */
    public void closeAll(Duration grace) {
        if (!grace.isZero()) {
            try {
                Thread.sleep(grace);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        long[] freed = releaseAll();
        quarantine.releaseAll();
        if (freed[0] > 0) {
            errors.inform("closing with " + freed[0] + " live blocks (" + freed[1] + " bytes); freed them");
        }
        backend.closeAfter(grace.multipliedBy(BACKEND_CLOSE_DELAY));
    }

    /** Destroys every heap, then frees every block still live (all counted as frees); returns {blocks, bytes}. */
    private long[] releaseAll() {
        for (int id = 1; id <= HeapRegistry.MAX_HEAPS; id++) {
            HeapRecord heap = heaps.byId(id);
            if (heap != null) {
                destroy(heap);
            }
        }
        long[] live = blocks.drain(LiveBlockSet.FREED);
        long bytes = 0;
        for (long user : live) {
            long word0 = header.word0(user);
            bytes += BlockHeader.sizeOf(word0);
            release(user, word0);
        }
        return new long[] {live.length, bytes};
    }

    /** One of the blocks claimed before its heap's destroy is done with; the last one lets the heap go. */
    private void releasePending(HeapRecord heap) {
        if (--heap.pendingReleases == 0) {
            finishDestroy(heap);
        }
    }

    /** Closes a destroyed heap's native allocator and frees its id. Called with its monitor held. */
    private void finishDestroy(HeapRecord heap) {
        if (heap.isNative) {
            backend.close(heap.allocator, "destroying heap " + heap.id);
        }
        heaps.unregister(heap);
    }
}
