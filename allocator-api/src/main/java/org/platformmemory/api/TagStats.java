package org.platformmemory.api;

/**
 * One tag's figures ({@link Insights#tagStats()}). Bytes are the sizes callers asked for. Live figures
 * are exact whenever no call is in flight, and the live figures of all tags add up to the totals.
 *
 * @param id          the tag's id (0 is {@code untagged})
 * @param name        its name
 * @param liveBytes   bytes in live blocks charged to it
 * @param liveBlocks  its live blocks
 * @param peakBytes   the most {@code liveBytes} was seen to be: at each of its allocations that took the
 *                    Java path (for untagged only while it has a budget), at frame marks, statistics reads
 *                    and snapshots (not between two of them for blocks the per-thread caches served)
 * @param allocations blocks allocated under it
 * @param frees       blocks of it freed
 * @param softBudget  bytes above which a crossing is reported ({@link ErrorCode#BUDGET}); 0: none
 * @param hardBudget  bytes an allocation may not take it past (it fails); 0: none
 */
public record TagStats(int id, String name, long liveBytes, long liveBlocks, long peakBytes, long allocations,
                       long frees, long softBudget, long hardBudget) {
}
