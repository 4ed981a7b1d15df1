package org.platformmemory.api;

/**
 * A snapshot of the facade's statistics. Each figure is exact; figures taken while other threads are
 * allocating may come from slightly different instants.
 *
 * @param liveBytes          bytes requested by live blocks (not counting headers)
 * @param liveBlocks         blocks allocated and not yet freed
 * @param peakBytes          the highest {@code liveBytes} has been
 * @param allocations        successful allocations
 * @param frees              blocks freed (including by heap destroy and close)
 * @param reallocations      successful reallocations
 * @param failedAllocations  allocations and reallocations that returned 0 for want of memory or budget
 * @param callerErrors       bad calls detected: double free, invalid pointer, bad size or alignment...
 * @param limit              the byte budget ({@code allocator.limit}), or 0 when there is none
 */
public record MemoryStats(long liveBytes, long liveBlocks, long peakBytes, long allocations, long frees,
                          long reallocations, long failedAllocations, long callerErrors, long limit) {
}
