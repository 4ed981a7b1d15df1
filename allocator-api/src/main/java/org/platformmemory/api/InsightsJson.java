package org.platformmemory.api;

import java.util.List;

/**
 * The JSON of {@link Insights#reportJson()}, written by hand: a handful of flat records of numbers and
 * names does not warrant a JSON library in the API module every backend depends on.
 */
final class InsightsJson {

    private InsightsJson() {
    }

    static String report(TrackedAllocator memory, Insights insights, Snapshot now) {
        StringBuilder out = new StringBuilder(4096);
        MemoryStats s = memory.stats();
        out.append("{\n  \"backend\": ").append(quote(memory.backendName()))
            .append(",\n  \"tracking\": ").append(quote(memory.tracking().name().toLowerCase(java.util.Locale.ROOT)))
            .append(",\n  \"timeMillis\": ").append(now.timeMillis())
            .append(",\n  \"totals\": {\"liveBytes\": ").append(s.liveBytes()).append(", \"liveBlocks\": ")
            .append(s.liveBlocks()).append(", \"peakBytes\": ").append(s.peakBytes()).append(", \"allocations\": ")
            .append(s.allocations()).append(", \"frees\": ").append(s.frees()).append(", \"reallocations\": ")
            .append(s.reallocations()).append(", \"failedAllocations\": ").append(s.failedAllocations())
            .append(", \"callerErrors\": ").append(s.callerErrors()).append(", \"limit\": ").append(s.limit())
            .append("},\n  \"backendFigures\": {");
        String sep = "";
        for (var e : memory.backendStatistics().entrySet()) {
            out.append(sep).append(quote(e.getKey())).append(": ").append(e.getValue());
            sep = ", ";
        }
        out.append("},\n  \"tags\": ");
        tags(out, now.tags());
        out.append(",\n  \"frames\": [");
        sep = "";
        for (FrameStats f : insights.recentFrames()) {
            out.append(sep).append("\n    ");
            frame(out, f);
            sep = ",";
        }
        out.append("],\n  \"sites\": ");
        sites(out, now.sites());
        out.append(",\n  \"snapshots\": [");
        sep = "";
        for (Snapshot snap : insights.snapshots()) {
            out.append(sep).append("\n    {\"id\": ").append(snap.id()).append(", \"timeMillis\": ")
                .append(snap.timeMillis()).append(", \"frame\": ").append(snap.frame()).append(", \"liveBytes\": ")
                .append(snap.liveBytes()).append(", \"liveBlocks\": ").append(snap.liveBlocks()).append(", \"tags\": ");
            tags(out, snap.tags());
            out.append(", \"sites\": ");
            sites(out, snap.sites());
            out.append('}');
            sep = ",";
        }
        return out.append("]\n}\n").toString();
    }

    static void tags(StringBuilder out, List<TagStats> tags) {
        out.append('[');
        String sep = "";
        for (TagStats t : tags) {
            out.append(sep).append("{\"id\": ").append(t.id()).append(", \"name\": ").append(quote(t.name()))
                .append(", \"liveBytes\": ").append(t.liveBytes()).append(", \"liveBlocks\": ").append(t.liveBlocks())
                .append(", \"peakBytes\": ").append(t.peakBytes()).append(", \"allocations\": ").append(t.allocations())
                .append(", \"frees\": ").append(t.frees()).append(", \"softBudget\": ").append(t.softBudget())
                .append(", \"hardBudget\": ").append(t.hardBudget()).append('}');
            sep = ", ";
        }
        out.append(']');
    }

    static void frame(StringBuilder out, FrameStats f) {
        out.append("{\"number\": ").append(f.number()).append(", \"allocations\": ").append(f.allocations())
            .append(", \"frees\": ").append(f.frees()).append(", \"bytesAllocated\": ").append(f.bytesAllocated())
            .append(", \"bytesFreed\": ").append(f.bytesFreed()).append(", \"peakLiveBytes\": ")
            .append(f.peakLiveBytes()).append(", \"liveBytesAtEnd\": ").append(f.liveBytesAtEnd()).append('}');
    }

    static void sites(StringBuilder out, List<SiteStats> sites) {
        out.append('[');
        String sep = "";
        for (SiteStats s : sites) {
            out.append(sep).append("{\"site\": ").append(quote(s.site())).append(", \"liveBytes\": ")
                .append(s.liveBytes()).append(", \"liveBlocks\": ").append(s.liveBlocks()).append('}');
            sep = ", ";
        }
        out.append(']');
    }

    /** A JSON string: quotes, backslashes and control characters escaped. */
    static String quote(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
