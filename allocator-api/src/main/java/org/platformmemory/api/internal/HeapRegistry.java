package org.platformmemory.api.internal;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.platformmemory.api.Allocator;

/**
 * The facade's private heaps by id, and the tags their blocks carry: id (12 bits) | native (1 bit) |
 * generation (7 bits), 20 bits in all ({@link BlockHeader#HEAP_TAG_BITS}). Ids are reused, lowest first, once a heap is fully destroyed. Thread-safe.
 */
public final class HeapRegistry {

    /** Heap ids run from 1 to this; 0 is "no heap". */
    public static final int MAX_HEAPS = 4095;
    private static final int ID_BITS = 12;
    private static final int ID_MASK = (1 << ID_BITS) - 1;
    private static final int NATIVE = 1 << ID_BITS;
    private static final int GENERATION_MASK = (1 << (BlockHeader.HEAP_TAG_BITS - ID_BITS - 1)) - 1;

    private final AtomicReferenceArray<HeapRecord> heaps = new AtomicReferenceArray<>(MAX_HEAPS + 1);
    private final AtomicInteger generations = new AtomicInteger();

    /**
     * A new heap: one of the backend's own when it has them, else one drawing on the backend.
     *
     * @return the heap, or null when the backend failed or all {@link #MAX_HEAPS} ids are in use (reported)
     */
    public HeapRecord create(CheckedBackend backend, Accounting accounting) {
        Allocator source = backend.createHeap();
        if (source == null) {
            return null;
        }
        boolean isNative = source != backend.backend();
        HeapRecord heap = register(source, isNative);
        if (heap == null) {
            if (isNative) {
                backend.close(source, "closing a heap it could not number");
            }
            accounting.fail(0, "createHeap", "all " + MAX_HEAPS + " heaps are in use");
        }
        return heap;
    }

    /** Registers a heap drawing on {@code allocator}; null when all {@link #MAX_HEAPS} ids are in use. */
    HeapRecord register(Allocator allocator, boolean isNative) {
        int generation = generations.incrementAndGet() & GENERATION_MASK;
        for (int id = 1; id <= MAX_HEAPS; id++) {
            if (heaps.get(id) == null) {
                int tag = id | (isNative ? NATIVE : 0) | generation << (ID_BITS + 1);
                HeapRecord heap = new HeapRecord(id, tag, allocator, isNative);
                if (heaps.compareAndSet(id, null, heap)) {
                    return heap;
                }
            }
        }
        return null;
    }

    /** The heap id within a block's tag (0 for none). */
    public static int idOf(int tag) {
        return tag & ID_MASK;
    }

    /** The heap a block's tag names (possibly being destroyed), or null for none or a heap gone since. */
    public HeapRecord byTag(int tag) {
        int id = tag & ID_MASK;
        if (id == 0) {
            return null;
        }
        HeapRecord heap = heaps.get(id);
        return heap != null && heap.tag == tag ? heap : null;
    }

    /** The heap registered under {@code id}, or null. */
    public HeapRecord byId(int id) {
        return id > 0 && id <= MAX_HEAPS ? heaps.get(id) : null;
    }

    /** Frees the id of a heap whose destroy is complete. */
    void unregister(HeapRecord heap) {
        heaps.compareAndSet(heap.id, heap, null);
    }
}
