package org.platformmemory.api;

import java.util.List;

/**
 * What grew and what shrank between two snapshots ({@link Insights#diff}), by tag and by site; only what
 * changed, largest byte change first.
 *
 * @param from  the earlier snapshot's id
 * @param to    the later one's id, or 0 for "now"
 * @param tags           the tags whose live bytes or blocks changed
 * @param sites          the sites whose live bytes or blocks changed
 * @param sitesEstimated whether the sites' figures are estimates from sampled blocks ({@code allocator.sample})
 */
public record SnapshotDiff(long from, long to, List<Change> tags, List<Change> sites, boolean sitesEstimated) {

    public SnapshotDiff {
        tags = List.copyOf(tags);
        sites = List.copyOf(sites);
    }

    /** A diff whose sites' figures are exact. */
    public SnapshotDiff(long from, long to, List<Change> tags, List<Change> sites) {
        this(from, to, tags, sites, false);
    }

    /** One tag's or site's live figures in both snapshots. */
    public record Change(String name, long bytesBefore, long bytesAfter, long blocksBefore, long blocksAfter) {

        /** Bytes it grew by (negative: shrank). */
        public long bytes() {
            return bytesAfter - bytesBefore;
        }

        /** Blocks it grew by (negative: shrank). */
        public long blocks() {
            return blocksAfter - blocksBefore;
        }
    }

    /** The diff as text, one line per change, the way {@code Platform_Mem_DumpDiff} prints it. */
    public String text() {
        StringBuilder out = new StringBuilder();
        out.append("memory diff from snapshot ").append(from).append(" to ")
            .append(to == 0 ? "now" : "snapshot " + to).append(": ").append(tags.size()).append(" tags, ")
            .append(sites.size()).append(sitesEstimated ? " sites changed (estimated from samples)\n" : " sites changed\n");
        for (Change c : tags) {
            line(out, "tag", c);
        }
        for (Change c : sites) {
            line(out, "site", c);
        }
        return out.toString();
    }

    private static void line(StringBuilder out, String kind, Change c) {
        out.append(String.format("  %-4s %-32s %+14d bytes %+9d blocks  (%d -> %d bytes)%n", kind, c.name(),
            c.bytes(), c.blocks(), c.bytesBefore(), c.bytesAfter()));
    }
}
