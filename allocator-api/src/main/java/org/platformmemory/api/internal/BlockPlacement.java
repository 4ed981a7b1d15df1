package org.platformmemory.api.internal;

import org.platformmemory.api.Allocator;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.MemoryFlags;

import static org.platformmemory.api.internal.ErrorReporter.hex;

/**
 * Taking memory for a block and recording it live: the size and alignment rules, the budget, the
 * backend's (or a private heap's) allocate or reallocate, the header, the tracking mode's dressing, and
 * the live-block set. The counterpart of {@link BlockRelease}; neither calls the facade.
 *
 * <p>Each failure is counted and reported here and the method returns 0 with nothing else changed.
 */
public final class BlockPlacement {

    /** The largest alignment a caller may ask for: 1 GiB. */
    public static final long MAX_ALIGNMENT = 1L << 30;
    /** log2 of {@link Allocator#MIN_ALIGNMENT}. */
    public static final int MIN_ALIGNMENT_LOG2 = Long.numberOfTrailingZeros(Allocator.MIN_ALIGNMENT);

    // loads HeapRecord with this class: C2 does not inline a call whose signature names a class not yet
    // loaded ("unloaded signature classes"), and a program that never makes a private heap never loads it,
    // so place() stayed a call in some of FacadeAB's compilations
    static final Class<HeapRecord> HEAP_RECORD = HeapRecord.class;

    private final LiveBlockSet blocks;
    private final BlockHeader header;
    private final Accounting accounting;
    private final ErrorReporter errors;
    private final Tracker tracker;
    private final CheckedBackend backend;
    private final HeapRegistry heaps;
    private final BlockRelease release;
    private final TagTable tags;

    public BlockPlacement(LiveBlockSet blocks, BlockHeader header, Accounting accounting, ErrorReporter errors,
                          Tracker tracker, CheckedBackend backend, HeapRegistry heaps, BlockRelease release,
                          TagTable tags) {
        this.tags = tags;
        this.blocks = blocks;
        this.header = header;
        this.accounting = accounting;
        this.errors = errors;
        this.tracker = tracker;
        this.backend = backend;
        this.heaps = heaps;
        this.release = release;
    }

    /**
     * A new block of {@code size > 0} bytes in {@code heap} (null: none): budget, memory, header, live.
     *
     * @return its address, or 0 (counted and reported)
     */
    public long place(HeapRecord heap, long size, int flags, int alignLog2, int site) {
        long align = 1L << alignLog2;
        long total = totalFor(size, align, "allocate");
        if (total <= 0) {
            return 0;
        }
        int tag = tags.admit(size, "allocate");
        if (tag < 0) {
            return refuseTag(size);
        }
        long reserved = accounting.reserve(size);
        if (reserved < 0) {
            return refuseBudget(tag, size);
        }
        // a cleared block from the backend's allocateZeroed: fresh pages come zero, and a big block then
        // costs a mapping instead of a pass over its bytes
        boolean clear = (flags & MemoryFlags.CLEAR) != 0;
        Allocator source = heap == null ? backend.backend() : heap.allocator;
        long base = clear ? backend.allocateZeroed(source, total, align) : backend.allocate(source, total, align);
        if (base == 0) {
            return refuseBackend(tag, size);
        }
        long user = base + header.offsetFor(align);
        header.write(user, size, flags, alignLog2, heap == null ? 0 : heap.tag, tag);
        tracker.onAllocate(user, size, flags, site, clear);
        if (heap != null) {
            heap.blocks.add(user, LiveBlockSet.NONE);
        }
        blocks.add(user, LiveBlockSet.ALLOCATED, size, size);
        accounting.raisePeak(reserved);
        return user;
    }

    // the failures of place, out of line: its compiled body stays small enough to inline into its callers

    private long refuseTag(long size) {
        return accounting.fail(size, "allocate", tags.refusal(tags.current(), size));
    }

    private long refuseBudget(int tag, long size) {
        tags.uncharge(tag, size, true);
        return accounting.failOverBudget(size, "allocate");
    }

    private long refuseBackend(int tag, long size) {
        accounting.undo(size);
        tags.uncharge(tag, size, true);
        return accounting.fail(size, "allocate", "backend '" + backend.name() + "' has no memory for it");
    }

    /**
     * Resizes a claimed block (removed from the live set, header verified) to {@code newSize > 0}. On
     * failure the block is live again, unchanged.
     *
     * @return the block's new address, or 0 (counted and reported)
     */
    public long resize(long address, long word0, long newSize, int flags) {
        long recorded = BlockHeader.sizeOf(word0);
        if (totalFor(newSize, 1L << BlockHeader.alignmentLog2Of(word0), "reallocate") <= 0) {
            blocks.add(address, LiveBlockSet.NONE);
            return 0;
        }
        long grow = newSize - recorded;
        int tag = header.tag(address);
        if (grow > 0 && !tags.charge(tag, grow, false)) {
            blocks.add(address, LiveBlockSet.NONE);
            return accounting.fail(newSize, "reallocate", tags.refusal(tag, grow));
        }
        tracker.beforeResize(address, recorded);
        long reserved = grow > 0 ? accounting.reserve(grow) : accounting.add(grow);
        if (reserved < 0) {
            tags.uncharge(tag, grow, false);
            blocks.add(address, LiveBlockSet.NONE);
            return accounting.failOverBudget(newSize, "reallocate");
        }
        int heapTag = header.heap(address);
        HeapRecord heap = heapTag == 0 ? null : heaps.byTag(heapTag);
        return heap == null ? move(address, word0, newSize, reserved, flags, null)
            : moveInHeap(heap, address, word0, newSize, reserved, flags);
    }

    private long moveInHeap(HeapRecord heap, long address, long word0, long newSize, long reserved, int flags) {
        synchronized (heap) {
            if (!heap.destroyed) {
                return move(address, word0, newSize, reserved, flags, heap);
            }
            // destroy came between our claim and here: the block goes with its heap
            long recorded = BlockHeader.sizeOf(word0);
            tags.credit(header.tag(address), Math.max(recorded, newSize), true);
            release.discardWithHeap(heap, address, newSize);
        }
        errors.report(ErrorCode.INVALID_HEAP, "reallocate(" + hex(address) + "): its heap " + heap.id
            + " was destroyed while the block was being resized; the block is gone with it", address);
        return 0;
    }

    /** The backend's realloc and the bookkeeping, after the claim and the budget. */
    private long move(long address, long word0, long newSize, long reserved, int flags, HeapRecord heap) {
        long recorded = BlockHeader.sizeOf(word0);
        long grow = newSize - recorded;
        int alignLog2 = BlockHeader.alignmentLog2Of(word0);
        long align = 1L << alignLog2;
        long offset = header.offsetFor(align);
        long overhead = header.overheadFor(align);
        int tag = header.tag(address); // read before the backend may free the old block
        long moved = backend.reallocate(heap == null ? backend.backend() : heap.allocator, address - offset,
            overhead + recorded, overhead + newSize, align);
        if (moved == 0) {
            accounting.undo(grow);
            if (grow > 0) {
                tags.uncharge(tag, grow, false);
            }
            blocks.add(address, LiveBlockSet.NONE);
            return accounting.fail(newSize, "reallocate", "backend '" + backend.name() + "' has no memory for it");
        }
        long user = moved + offset;
        header.write(user, newSize, BlockHeader.flagsOf(word0), alignLog2, heap == null ? 0 : heap.tag, tag);
        if (grow < 0) {
            tags.credit(tag, -grow, false);
        }
        tracker.onResize(user, recorded, newSize, flags);
        tracker.onMoved(address, user, newSize);
        if (heap != null && user != address) {
            heap.blocks.remove(address, LiveBlockSet.NONE);
            heap.blocks.add(user, LiveBlockSet.NONE);
        }
        blocks.add(user, LiveBlockSet.REALLOCATED, newSize, Math.max(grow, 0));
        if (grow > 0) {
            accounting.raisePeak(reserved);
        }
        return user;
    }

    /**
     * log2 of an alignment a caller asked for (values up to 16 mean 16), or -1 after reporting one that is
     * not a power of two up to {@link #MAX_ALIGNMENT} ({@link ErrorCode#BAD_ALIGNMENT}).
     */
    public int alignmentLog2(long alignment) {
        if (alignment <= Allocator.MIN_ALIGNMENT) {
            if (alignment > 0 && Long.bitCount(alignment) == 1) {
                return MIN_ALIGNMENT_LOG2;
            }
        } else if (Long.bitCount(alignment) == 1 && alignment <= MAX_ALIGNMENT) {
            return Long.numberOfTrailingZeros(alignment);
        }
        errors.report(ErrorCode.BAD_ALIGNMENT, "allocate: alignment " + Long.toUnsignedString(alignment)
            + " is not a power of two from 1 to " + MAX_ALIGNMENT, 0);
        return -1;
    }

    /** The bytes to ask the backend for, or 0 after reporting an overflowing or impossible size. */
    private long totalFor(long size, long align, String op) {
        long overhead = header.overheadFor(align);
        if (size < 0 || size > Long.MAX_VALUE - overhead) {
            return rejectSize(size, op, overhead);
        }
        long total = size + overhead;
        if (total > Allocator.MAX_BLOCK_SIZE) {
            return rejectHuge(size, op);
        }
        return total;
    }

    private long rejectHuge(long size, String op) {
        return accounting.fail(size, op, "it is larger than any address space (" + Allocator.MAX_BLOCK_SIZE + " bytes)");
    }

    private long rejectSize(long size, String op, long overhead) {
        errors.report(ErrorCode.SIZE_OVERFLOW, op + "(" + Long.toUnsignedString(size) + " bytes): the size"
            + " overflows once the " + overhead + "-byte header is added (is it a negative number or SIZE_MAX?)", 0);
        accounting.countFailure();
        return 0;
    }
}
