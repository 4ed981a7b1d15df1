package org.platformmemory.ffi;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.PrivateHeap;
import org.platformmemory.api.TrackedAllocator;

/**
 * The C side's private heaps: a {@code PlatformHeap} handle names one heap for its whole life and is
 * never handed out again. It carries the heap's id (low 12 bits) and a serial number from a counter
 * that does not wrap in practice (2^35 heaps), and lies outside the canonical address range, so it can
 * never equal a pointer or a destroyed heap's handle whose id was reused. An unknown, destroyed or bogus
 * handle (NULL, a stray pointer, a stale copy) is reported as {@link ErrorCode#INVALID_HEAP} and the
 * call touches nothing. Thread-safe; lookups allocate nothing.
 */
final class HeapHandles {

    /** The handles of the heaps the C side created: the call table's heap entries below use them. */
    static final HeapHandles TABLE = new HeapHandles();

    /** Set in every handle: bits 53..62, so no handle is a canonical user-space address. */
    static final long MARK = 0x7FE0_0000_0000_0000L;
    private static final int ID_BITS = 12;
    private static final long ID_MASK = (1L << ID_BITS) - 1;
    private static final long SERIAL_LIMIT = 1L << (53 - ID_BITS);

    /** A live heap and the one handle that names it. */
    private record Named(long handle, PrivateHeap heap) {
    }

    private final AtomicReferenceArray<Named> heaps = new AtomicReferenceArray<>(PrivateHeap.MAX_ID + 1);
    private final AtomicLong serials = new AtomicLong();

    /** The handle of a new heap, 0 when none could be created (reported by the facade). */
    long create(TrackedAllocator memory) {
        PrivateHeap heap = memory.createHeap();
        if (heap == null) {
            return 0;
        }
        long serial = serials.incrementAndGet() % SERIAL_LIMIT;
        long handle = MARK | serial << ID_BITS | heap.id();
        heaps.set(heap.id(), new Named(handle, heap));
        return handle;
    }

    /** The heap behind {@code handle}, or null after reporting it as {@link ErrorCode#INVALID_HEAP}. */
    PrivateHeap find(TrackedAllocator memory, long handle, String function) {
        int slot = (int) (handle & ID_MASK);
        Named named = (handle & MARK) == MARK && slot <= PrivateHeap.MAX_ID ? heaps.get(slot) : null;
        if (named == null || named.handle != handle) {
            reportUnknown(memory, handle, function);
            return null;
        }
        return named.heap;
    }

    private static void reportUnknown(TrackedAllocator memory, long handle, String function) {
        memory.reportError(ErrorCode.INVALID_HEAP, function + "(0x" + Long.toHexString(handle)
            + "): no such heap (never created, or destroyed); nothing was done", 0);
    }

    /** Destroys the heap behind {@code handle} and forgets the handle; false for an unknown one (reported). */
    boolean destroy(TrackedAllocator memory, long handle) {
        PrivateHeap heap = find(memory, handle, "Platform_HeapDestroy");
        if (heap == null) {
            return false;
        }
        int slot = heap.id();
        Named named = heaps.get(slot);
        if (named == null || named.handle != handle || !heaps.compareAndSet(slot, named, null)) {
            // another thread destroyed it since the lookup: that destroy did the work, this one is reported
            reportUnknown(memory, handle, "Platform_HeapDestroy");
            return false;
        }
        return heap.destroy();
    }

    /** Forgets every handle (the facade they belonged to has closed). */
    void clear() {
        for (int i = 0; i < heaps.length(); i++) {
            heaps.set(i, null);
        }
    }

    // ---- the call table's heap entries (Platform_Heap*): each catches everything ------------------------

    static long heapCreate() {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m != null ? TABLE.create(m) : NativeExports.closed("Platform_HeapCreate");
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_HeapCreate", t);
        }
    }

    static long heapAlloc(long heap, long size, int flags) {
        return heapAllocAt(heap, size, flags, 0);
    }

    static long heapAllocAt(long heap, long size, int flags, int stack) {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m == null) {
                return NativeExports.closed("Platform_HeapAlloc");
            }
            PrivateHeap h = TABLE.find(m, heap, "Platform_HeapAlloc");
            return h != null ? h.allocate(size, flags, BlockEntries.site(stack)) : 0;
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_HeapAlloc", t);
        }
    }

    static int heapFreeAt(long heap, long ptr, int stack) {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m == null) {
                return 0;
            }
            PrivateHeap h = TABLE.find(m, heap, "Platform_HeapFree");
            return h != null && h.free(ptr, BlockEntries.site(stack)) ? 1 : 0;
        } catch (Throwable t) {
            return (int) NativeExports.internalError("Platform_HeapFree", t);
        }
    }

    static int heapFree(long heap, long ptr) {
        return heapFreeAt(heap, ptr, 0);
    }

    static long heapSize(long heap, long ptr) {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m == null) {
                return 0;
            }
            PrivateHeap h = TABLE.find(m, heap, "Platform_HeapSize");
            return h != null ? h.sizeOf(ptr) : 0;
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_HeapSize", t);
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
