package org.platformmemory.api;

/**
 * A live block as a leak report lists it.
 *
 * @param address the address the caller was given
 * @param size    the size it asked for
 * @param flags   the flags it asked with ({@link MemoryFlags})
 * @param site    where it was allocated: the C caller's call stack (its frames joined by {@code " <- "},
 *                the caller's first) or {@code file:line}, the Java caller's frame, or
 *                {@code "(site not recorded)"} in {@code counters} mode
 * @param number  its allocation number (1 for the first; {@code leaks} and {@code debug}), 0 when not numbered
 */
public record LiveBlock(long address, long size, int flags, String site, long number) {

    /** A block without an allocation number. */
    public LiveBlock(long address, long size, int flags, String site) {
        this(address, size, flags, site, 0);
    }
}
