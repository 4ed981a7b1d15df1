package org.platformmemory.api;

/**
 * The figures of one completed frame ({@link Insights#frameMark()} to the next). Counts and bytes are
 * exact when no call is in flight at the marks: {@code liveBytesAtEnd} is the live bytes at the frame's
 * start plus {@code bytesAllocated} minus {@code bytesFreed}.
 *
 * @param number         the frame's number: 1 for the frame that ended at the first mark
 * @param allocations    blocks allocated in it
 * @param frees          blocks freed in it
 * @param bytesAllocated bytes of the blocks allocated, and bytes that reallocations grew blocks by
 * @param bytesFreed     bytes of the blocks freed, and bytes that reallocations shrank blocks by
 * @param peakLiveBytes  the most bytes live within the frame: exact when one thread allocated and freed in
 *                       it through one path (blocks up to 8 KiB through the C caches, or larger ones);
 *                       otherwise an upper bound: the live bytes at the start plus each thread's and the
 *                       Java path's own rise
 * @param liveBytesAtEnd live bytes when the frame ended
 */
public record FrameStats(long number, long allocations, long frees, long bytesAllocated, long bytesFreed,
                         long peakLiveBytes, long liveBytesAtEnd) {
}
