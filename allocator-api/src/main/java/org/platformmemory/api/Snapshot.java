package org.platformmemory.api;

import java.util.List;

/**
 * Live figures at one moment ({@link Insights#snapshot()}), kept for diffs and reports.
 *
 * @param id          1 for the first snapshot, then counting up
 * @param timeMillis  when it was taken (milliseconds since the epoch)
 * @param frame       the number of frames completed by then
 * @param liveBytes   bytes in live blocks
 * @param liveBlocks  live blocks
 * @param tags        every tag's figures
 * @param sites       live blocks by allocation site (empty with tracking {@code counters})
 */
public record Snapshot(long id, long timeMillis, long frame, long liveBytes, long liveBlocks, List<TagStats> tags,
                       List<SiteStats> sites) {

    public Snapshot {
        tags = List.copyOf(tags);
        sites = List.copyOf(sites);
    }
}
