package org.platformmemory.api;

import java.util.Map;

import org.platformmemory.api.kit.NativeMemory;

/**
 * A source of raw off-heap blocks: the service a backend provides.
 *
 * <p>Callers never use a backend directly: {@link TrackedAllocator} sits in front of it and owns
 * everything shared (block headers, statistics, leak tracking, caller-error detection, guards). A
 * backend therefore only ever sees well-formed requests:
 * <ul>
 *   <li>{@code size} is positive and at most {@link #MAX_BLOCK_SIZE};</li>
 *   <li>{@code alignment} is a power of two, at least {@link #MIN_ALIGNMENT};</li>
 *   <li>{@code free} and {@code reallocate} get an address this backend returned, together with the
 *       exact size and alignment it was requested with, so no backend needs a map to find a block.</li>
 * </ul>
 *
 * <p>Implementations are thread-safe: any thread may free or reallocate a block another thread
 * allocated. They report failure by returning 0, never by throwing; the facade contains a backend that
 * throws anyway.
 *
 * <pre>{@code
 * try (Allocator a = new MyProvider().create(AllocatorConfig.empty())) {
 *     long p = a.allocate(64, Allocator.MIN_ALIGNMENT);
 *     if (p != 0) a.free(p, 64, Allocator.MIN_ALIGNMENT);
 * }
 * }</pre>
 */
public interface Allocator extends AutoCloseable {

    /** Every block is aligned to at least this many bytes, as {@code malloc} on x86-64. */
    long MIN_ALIGNMENT = 16;

    /** The largest block a backend is asked for: 2^47 bytes, the x86-64 user address space. */
    long MAX_BLOCK_SIZE = 1L << 47;

    /** The provider name this backend was created under, such as {@code "system"} or {@code "arena"}. */
    String name();

    /**
     * Allocates a block. Its contents are undefined.
     *
     * @param size      bytes, {@code 1..MAX_BLOCK_SIZE}
     * @param alignment a power of two {@code >= MIN_ALIGNMENT}
     * @return the block's address, aligned to {@code alignment}, or 0 if the memory is not available
     */
    long allocate(long size, long alignment);

    /**
     * Allocates a block whose bytes all read as zero (for {@code CLEAR}). The default allocates and
     * zeroes it; a backend that takes large blocks straight from the system (fresh mappings, which the
     * system zeroes as it maps them) overrides it and writes nothing for those, so a big cleared block
     * costs a mapping, not a pass over its bytes, and none of it is resident until it is touched. The
     * block is freed with {@link #free} like any other.
     *
     * @return the block's address, or 0 if the memory is not available
     */
    default long allocateZeroed(long size, long alignment) {
        long address = allocate(size, alignment);
        if (address != 0) {
            NativeMemory.fill(address, size, (byte) 0);
        }
        return address;
    }

    /**
     * Returns a block to the backend.
     *
     * @param address   an address {@link #allocate} or {@link #reallocate} returned and not yet freed
     * @param size      the size it was requested with
     * @param alignment the alignment it was requested with
     */
    void free(long address, long size, long alignment);

    /**
     * Resizes a block, keeping its first {@code min(oldSize, newSize)} bytes.
     *
     * <p>On failure returns 0 and the old block is left exactly as it was. The default allocates,
     * copies and frees; backends that can grow in place override it.
     *
     * @return the (possibly moved) block's address, or 0 on failure
     */
    default long reallocate(long address, long oldSize, long newSize, long alignment) {
        long moved = allocate(newSize, alignment);
        if (moved == 0) {
            return 0;
        }
        NativeMemory.copy(address, moved, Math.min(oldSize, newSize));
        free(address, oldSize, alignment);
        return moved;
    }

    /**
     * Allocates up to {@code count} blocks of {@code size} bytes each, aligned to {@link #MIN_ALIGNMENT},
     * into {@code into[0..count)}: for a cache in front of the facade (the C shim's) that hands them out
     * and takes them back itself, so a backend with batches of its own may serve them in one step and
     * skip its own per-thread cache. The default calls {@link #allocate} for each.
     *
     * <p>An override must not throw once it has put a block in {@code into}: the blocks would be lost. It
     * ends the batch early instead, as the default does.
     *
     * @return how many were allocated: fewer than {@code count} only when the memory ran out (or {@link
     *         #allocate} threw after the first block)
     */
    default int allocateBatch(long size, long[] into, int count) {
        int made = 0;
        while (made < count) {
            long block;
            try {
                block = allocate(size, MIN_ALIGNMENT);
            } catch (RuntimeException | Error e) {
                if (made == 0) {
                    throw e; // nothing to lose: the caller reports it
                }
                break; // the blocks made so far are handed over; the next call meets the failure again
            }
            if (block == 0) {
                break;
            }
            into[made++] = block;
        }
        return made;
    }

    /**
     * Frees {@code count} blocks of {@code size} bytes from {@code from[0..count)}, each one that
     * {@link #allocateBatch} (or {@link #allocate} with {@link #MIN_ALIGNMENT}) returned. The default calls
     * {@link #free} for each.
     */
    default void freeBatch(long size, long[] from, int count) {
        for (int i = 0; i < count; i++) {
            free(from[i], size, MIN_ALIGNMENT);
        }
    }

    /**
     * Creates a private heap: an allocator of its own whose {@link #close()} frees every block still
     * in it at once (the {@code HeapCreate}/{@code HeapDestroy} model).
     *
     * @return the heap, or {@code null} when this backend has no native heaps; the facade then keeps
     *         track of a heap's blocks itself
     */
    default Allocator createHeap() {
        return null;
    }

    /**
     * Gives memory this backend holds but no block uses back to the system: its cached blocks, empty
     * slabs and chunks, the C library's free pages. Called on request ({@code Platform_Mem_Trim}), never
     * on a hot path; it may take locks and walk the backend's structures. The default does nothing.
     */
    default void trim() {
    }

    /**
     * The bytes this backend holds from the system for blocks (chunks, slabs, huge blocks, spares), in use
     * or not; -1 when it cannot tell. Not a hot path.
     */
    default long mappedBytes() {
        return -1;
    }

    /**
     * Of {@link #mappedBytes}, the bytes resident now, where the backend can ask the system (its own
     * mappings); -1 when it cannot tell (memory from {@code malloc}). Not a hot path: it may make a system
     * call per mapping.
     */
    default long residentBytes() {
        return -1;
    }

    /**
     * The backend's own figures (chunks, arenas, slabs, caches...), by name, for reports and benchmarks.
     * Not a hot path: it may allocate.
     */
    default Map<String, Long> statistics() {
        return Map.of();
    }

    /**
     * Releases everything this backend holds. The facade frees every live block before it calls this;
     * after it returns, the backend is not used again.
     */
    @Override
    void close();
}
