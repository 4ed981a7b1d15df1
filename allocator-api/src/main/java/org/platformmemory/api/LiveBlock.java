package org.platformmemory.api;

/**
 * A live block as a leak report lists it.
 *
 * @param address the address the caller was given
 * @param size    the size it asked for
 * @param flags   the flags it asked with ({@link MemoryFlags})
 * @param site    where it was allocated: {@code file:line} for C callers that gave one, the Java
 *                caller's frame otherwise, or {@code "(site not recorded)"} in {@code counters} mode
 */
public record LiveBlock(long address, long size, int flags, String site) {
}
