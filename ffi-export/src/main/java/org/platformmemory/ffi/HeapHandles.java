package org.platformmemory.ffi;

import java.util.concurrent.atomic.AtomicReferenceArray;

import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.PrivateHeap;
import org.platformmemory.api.TrackedAllocator;

/**
 * The C side's private heaps: a {@code PlatformHeap} handle is the heap's id, and this map turns it back
 * into the {@link PrivateHeap}. An unknown, destroyed or bogus handle (NULL, a stray pointer) is reported
 * as {@link ErrorCode#INVALID_HEAP} and the call touches nothing. Thread-safe; lookups allocate nothing.
 */
final class HeapHandles {

    /** The handles of the heaps the C side created: the call table's heap entries below use them. */
    static final HeapHandles TABLE = new HeapHandles();

    private final AtomicReferenceArray<PrivateHeap> heaps = new AtomicReferenceArray<>(PrivateHeap.MAX_ID + 1);

    /** The handle of a new heap, 0 when none could be created (reported by the facade). */
    long create(TrackedAllocator memory) {
        PrivateHeap heap = memory.createHeap();
        if (heap == null) {
            return 0;
        }
        heaps.set(heap.id(), heap);
        return heap.id();
    }

    /** The heap behind {@code handle}, or null after reporting it as {@link ErrorCode#INVALID_HEAP}. */
    PrivateHeap find(TrackedAllocator memory, long handle, String function) {
        PrivateHeap heap = handle > 0 && handle <= PrivateHeap.MAX_ID ? heaps.get((int) handle) : null;
        if (heap == null) {
            memory.reportError(ErrorCode.INVALID_HEAP, function + "(" + Long.toHexString(handle)
                + "): no such heap (never created, or destroyed); nothing was done", 0);
        }
        return heap;
    }

    /** Destroys the heap behind {@code handle} and forgets the handle; false for an unknown one (reported). */
    boolean destroy(TrackedAllocator memory, long handle) {
        PrivateHeap heap = find(memory, handle, "Platform_HeapDestroy");
        if (heap == null) {
            return false;
        }
        heaps.compareAndSet((int) handle, heap, null);
        return heap.destroy();
    }

    /** Forgets every handle (the facade they belonged to has closed). */
    void clear() {
        for (int i = 0; i < heaps.length(); i++) {
            heaps.set(i, null);
        }
    }

    // ---- the call table's heap entries (Platform_Heap*): each catches everything ------------------------

    static int heapCreate() {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m != null ? (int) TABLE.create(m) : (int) NativeExports.closed("Platform_HeapCreate");
        } catch (Throwable t) {
            return (int) NativeExports.internalError("Platform_HeapCreate", t);
        }
    }

    static long heapAlloc(long heap, long size, int flags) {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m == null) {
                return NativeExports.closed("Platform_HeapAlloc");
            }
            PrivateHeap h = TABLE.find(m, heap, "Platform_HeapAlloc");
            return h != null ? h.allocate(size, flags, CSites.unknown()) : 0;
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_HeapAlloc", t);
        }
    }

    static int heapFree(long heap, long ptr) {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m == null) {
                return 0;
            }
            PrivateHeap h = TABLE.find(m, heap, "Platform_HeapFree");
            return h != null && h.free(ptr) ? 1 : 0;
        } catch (Throwable t) {
            return (int) NativeExports.internalError("Platform_HeapFree", t);
        }
    }

    static int heapDestroy(long heap) {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m != null && TABLE.destroy(m, heap) ? 1 : 0;
        } catch (Throwable t) {
            return (int) NativeExports.internalError("Platform_HeapDestroy", t);
        }
    }
}
