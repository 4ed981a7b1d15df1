package org.platformmemory.bench.report;

/**
 * One big block of a subject (a level's pool: allocated, half of it written, freed), over the rounds:
 * how long its allocation took and how much of it was resident right after and after half was written.
 * A block that is all resident right after its allocation was written (or its pages faulted in) by the
 * allocator; one of which only half is resident after half was written was given untouched pages.
 *
 * @param subject                the backend or native peer
 * @param kind                   {@code backend} or {@code peer}
 * @param block                  the block's name ({@code big-block-512m}; {@code -clear}: allocated zeroed)
 * @param bytes                  its size
 * @param allocNanos             wall time of the allocation call, ns
 * @param residentAfterAllocMiB  the block's resident memory right after the allocation, MiB
 * @param residentAfterTouchMiB  the block's resident memory after its first half was written, MiB
 * @param freeNanos              wall time of the free, ns
 */
public record BigBlockFigures(String subject, String kind, String block, long bytes, Spread allocNanos,
                              Spread residentAfterAllocMiB, Spread residentAfterTouchMiB, Spread freeNanos) {
}
