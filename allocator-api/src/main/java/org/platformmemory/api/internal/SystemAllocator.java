package org.platformmemory.api.internal;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import org.platformmemory.api.Allocator;
import org.platformmemory.api.kit.CHeap;
import org.platformmemory.api.kit.Pages;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The C library's {@code malloc}, {@code calloc}, {@code aligned_alloc}, {@code realloc} and {@code free}, through FFM
 * downcalls: the reference every other backend is measured against. Pointers cross as {@code long}
 * (the same register class on every 64-bit ABI we target), so no call allocates on the Java heap.
 */
final class SystemAllocator implements Allocator {

    private static final MethodHandle MALLOC;
    private static final MethodHandle CALLOC;
    private static final MethodHandle ALIGNED_ALLOC;
    private static final MethodHandle REALLOC;
    private static final MethodHandle FREE;

    static {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        // critical: these calls are short and never call back into Java, so skip the thread-state change
        Linker.Option critical = Linker.Option.critical(false);
        MALLOC = linker.downcallHandle(libc.findOrThrow("malloc"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG), critical);
        CALLOC = linker.downcallHandle(libc.findOrThrow("calloc"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG), critical);
        ALIGNED_ALLOC = linker.downcallHandle(libc.findOrThrow("aligned_alloc"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG), critical);
        REALLOC = linker.downcallHandle(libc.findOrThrow("realloc"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG), critical);
        FREE = linker.downcallHandle(libc.findOrThrow("free"),
            FunctionDescriptor.ofVoid(JAVA_LONG), critical);
    }

    @Override
    public String name() {
        return SystemAllocatorProvider.NAME;
    }

    @Override
    public long allocate(long size, long alignment) {
        try {
            if (alignment <= MIN_ALIGNMENT) {
                return (long) MALLOC.invokeExact(size);
            }
            // aligned_alloc wants a size that is a multiple of the alignment
            long rounded = (size + alignment - 1) & -alignment;
            return rounded <= 0 ? 0 : (long) ALIGNED_ALLOC.invokeExact(alignment, rounded);
        } catch (Throwable t) {
            throw new IllegalStateException("libc allocation failed", t);
        }
    }

    /**
     * {@code calloc}, which writes nothing into a block the C library mapped fresh for it; an aligned
     * block is zeroed by {@link Pages#zero}, which gives a large one's pages back instead of writing them.
     */
    /** The C library's whole heap ({@link CHeap#mapped}), which the JVM's own native memory shares. */
    @Override
    public long mappedBytes() {
        return CHeap.mapped();
    }

    /** The C library's free pages go back to the system ({@link CHeap#trim}). */
    @Override
    public void trim() {
        CHeap.trim();
    }

    @Override
    public long allocateZeroed(long size, long alignment) {
        if (alignment > MIN_ALIGNMENT) {
            return Pages.zeroed(allocate(size, alignment), size);
        }
        try {
            return (long) CALLOC.invokeExact(1L, size);
        } catch (Throwable t) {
            throw new IllegalStateException("libc allocation failed", t);
        }
    }

    @Override
    public void free(long address, long size, long alignment) {
        try {
            FREE.invokeExact(address);
        } catch (Throwable t) {
            throw new IllegalStateException("libc free failed", t);
        }
    }

    @Override
    public long reallocate(long address, long oldSize, long newSize, long alignment) {
        if (alignment > MIN_ALIGNMENT) {
            return Allocator.super.reallocate(address, oldSize, newSize, alignment);
        }
        try {
            return (long) REALLOC.invokeExact(address, newSize); // NULL on failure, old block intact
        } catch (Throwable t) {
            throw new IllegalStateException("libc realloc failed", t);
        }
    }

    @Override
    public void close() {
        // malloc's memory belongs to the process; the facade has freed every block already
    }
}
