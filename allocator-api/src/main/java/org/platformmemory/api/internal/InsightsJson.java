package org.platformmemory.api.internal;

import java.util.List;
import java.util.Locale;

import org.platformmemory.api.FrameStats;
import org.platformmemory.api.Insights;
import org.platformmemory.api.MemoryStats;
import org.platformmemory.api.SiteStats;
import org.platformmemory.api.Snapshot;
import org.platformmemory.api.TagStats;
import org.platformmemory.api.TrackedAllocator;

/**
 * The insights' figures as JSON, one way for every reader: the report ({@code Insights.reportJson},
 * {@code Platform_Mem_WriteReport}) and the live view's {@code /api/state} write their totals, tags,
 * frames, sites and snapshots with these.
 */
public final class InsightsJson {

    private InsightsJson() {
    }

    /** The report: the current figures, tags, recent frames, sites and every snapshot kept, with its figures. */
    public static String report(TrackedAllocator memory, Insights insights, Snapshot now) {
        Json json = new Json().open();
        head(json, memory, now.timeMillis());
        totals(json, memory.stats()).close();
        backendFigures(json, memory);
        tags(json.key("tags"), now.tags());
        frames(json.key("frames"), insights.recentFrames());
        sites(json.key("sites"), now.sites());
        json.key("snapshots").array();
        for (Snapshot snap : insights.snapshots()) {
            snapshot(json, snap);
            tags(json.key("tags"), snap.tags());
            sites(json.key("sites"), snap.sites());
            json.close();
        }
        return json.end().close().toString();
    }

    /** The backend, the tracking mode and the time, as the first members of an object. */
    public static void head(Json json, TrackedAllocator memory, long timeMillis) {
        json.field("backend", memory.backendName())
            .field("tracking", memory.tracking().name().toLowerCase(Locale.ROOT))
            .field("timeMillis", timeMillis);
    }

    /** Opens member {@code totals} with every counter; the caller may add members, then closes it. */
    public static Json totals(Json json, MemoryStats s) {
        return json.key("totals").open().field("liveBytes", s.liveBytes()).field("liveBlocks", s.liveBlocks())
            .field("peakBytes", s.peakBytes()).field("allocations", s.allocations()).field("frees", s.frees())
            .field("reallocations", s.reallocations()).field("failedAllocations", s.failedAllocations())
            .field("callerErrors", s.callerErrors()).field("limit", s.limit());
    }

    /** Member {@code backendFigures}: the backend's own figures. */
    public static void backendFigures(Json json, TrackedAllocator memory) {
        json.key("backendFigures").open();
        memory.backendStatistics().forEach(json::field);
        json.close();
    }

    /** An array of tags' figures (after a key). */
    public static void tags(Json json, List<TagStats> tags) {
        json.array();
        for (TagStats t : tags) {
            json.open().field("id", t.id()).field("name", t.name()).field("liveBytes", t.liveBytes())
                .field("liveBlocks", t.liveBlocks()).field("peakBytes", t.peakBytes())
                .field("allocations", t.allocations()).field("frees", t.frees())
                .field("softBudget", t.softBudget()).field("hardBudget", t.hardBudget()).close();
        }
        json.end();
    }

    /** An array of frames' figures (after a key). */
    public static void frames(Json json, List<FrameStats> frames) {
        json.array();
        for (FrameStats f : frames) {
            json.open().field("number", f.number()).field("allocations", f.allocations()).field("frees", f.frees())
                .field("bytesAllocated", f.bytesAllocated()).field("bytesFreed", f.bytesFreed())
                .field("peakLiveBytes", f.peakLiveBytes()).field("liveBytesAtEnd", f.liveBytesAtEnd()).close();
        }
        json.end();
    }

    /** An array of sites' figures (after a key). */
    public static void sites(Json json, List<SiteStats> sites) {
        json.array();
        for (SiteStats s : sites) {
            json.open().field("site", s.site()).field("liveBytes", s.liveBytes()).field("liveBlocks", s.liveBlocks());
            if (s.estimate()) {
                json.field("estimate", true);
            }
            json.close();
        }
        json.end();
    }

    /** Opens an object with a snapshot's own figures; the caller may add members, then closes it. */
    public static Json snapshot(Json json, Snapshot snap) {
        return json.open().field("id", snap.id()).field("timeMillis", snap.timeMillis()).field("frame", snap.frame())
            .field("liveBytes", snap.liveBytes()).field("liveBlocks", snap.liveBlocks());
    }
}
