package org.platformmemory.api.view;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.platformmemory.api.FrameStats;
import org.platformmemory.api.Insights;
import org.platformmemory.api.LiveBlock;
import org.platformmemory.api.MemoryStats;
import org.platformmemory.api.Snapshot;
import org.platformmemory.api.SnapshotDiff;
import org.platformmemory.api.TagStats;
import org.platformmemory.api.TrackedAllocator;
import org.platformmemory.api.Tracking;

/** The live view's JSON: {@code /api/state} (everything the page shows) and {@code /api/diff}. */
final class StateJson {

    /** Frames sent with each state: the table shows them, the chart draws them. */
    static final int FRAMES_SENT = 60;
    /** Sites sent: the largest by live bytes. */
    static final int SITES_SENT = 15;

    private StateJson() {
    }

    static String state(TrackedAllocator memory, Samples samples) {
        Insights insights = memory.insights();
        MemoryStats s = memory.stats();
        Json json = new Json().open()
            .field("backend", memory.backendName())
            .field("tracking", memory.tracking().name().toLowerCase(Locale.ROOT))
            .field("timeMillis", System.currentTimeMillis());
        json.key("totals").open().field("liveBytes", s.liveBytes()).field("liveBlocks", s.liveBlocks())
            .field("peakBytes", s.peakBytes()).field("allocations", s.allocations()).field("frees", s.frees())
            .field("reallocations", s.reallocations()).field("failedAllocations", s.failedAllocations())
            .field("callerErrors", s.callerErrors()).field("limit", s.limit())
            .field("ramFree", memory.ramFree()).field("ramTotal", memory.ramTotal()).close();
        json.key("backendFigures").open();
        memory.backendStatistics().forEach(json::field);
        json.close();
        json.key("tags").array();
        for (TagStats t : insights.tagStats()) {
            json.open().field("id", t.id()).field("name", t.name()).field("liveBytes", t.liveBytes())
                .field("liveBlocks", t.liveBlocks()).field("peakBytes", t.peakBytes())
                .field("allocations", t.allocations()).field("frees", t.frees())
                .field("softBudget", t.softBudget()).field("hardBudget", t.hardBudget()).close();
        }
        json.end();
        List<FrameStats> frames = insights.recentFrames();
        json.key("frames").array();
        for (FrameStats f : frames.subList(Math.max(0, frames.size() - FRAMES_SENT), frames.size())) {
            json.open().field("number", f.number()).field("allocations", f.allocations()).field("frees", f.frees())
                .field("bytesAllocated", f.bytesAllocated()).field("bytesFreed", f.bytesFreed())
                .field("peakLiveBytes", f.peakLiveBytes()).field("liveBytesAtEnd", f.liveBytesAtEnd()).close();
        }
        json.end();
        sites(json, memory);
        json.key("snapshots").array();
        for (Snapshot snap : insights.snapshots()) {
            json.open().field("id", snap.id()).field("timeMillis", snap.timeMillis()).field("frame", snap.frame())
                .field("liveBytes", snap.liveBytes()).field("liveBlocks", snap.liveBlocks()).close();
        }
        json.end();
        samples(json, samples);
        return json.close().toString();
    }

    /** The largest sites by live bytes (tracking {@code leaks} or {@code debug}; none with {@code counters}). */
    private static void sites(Json json, TrackedAllocator memory) {
        json.key("sites").array();
        if (memory.tracking() != Tracking.COUNTERS) {
            Map<String, long[]> bySite = new HashMap<>();
            for (LiveBlock b : memory.liveBlockList()) {
                long[] f = bySite.computeIfAbsent(b.site() == null ? "(no site)" : b.site(), k -> new long[2]);
                f[0] += b.size();
                f[1]++;
            }
            List<Map.Entry<String, long[]>> largest = new ArrayList<>(bySite.entrySet());
            largest.sort((x, y) -> Long.compare(y.getValue()[0], x.getValue()[0]));
            for (Map.Entry<String, long[]> e : largest.subList(0, Math.min(SITES_SENT, largest.size()))) {
                json.open().field("site", e.getKey()).field("liveBytes", e.getValue()[0])
                    .field("liveBlocks", e.getValue()[1]).close();
            }
        }
        json.end();
    }

    /** The chart's samples: tag names by id, then per sample its time, the total and each tag's bytes. */
    private static void samples(Json json, Samples samples) {
        List<Samples.Sample> list = samples.list();
        json.key("samples").open().field("intervalMillis", LiveView.SAMPLE_MILLIS);
        json.key("tags").array();
        for (String name : samples.tagNames()) {
            json.value(name);
        }
        json.end().key("points").array();
        for (Samples.Sample p : list) {
            json.array().value(p.timeMillis()).value(p.totalLiveBytes());
            for (long b : p.liveBytesByTag()) {
                json.value(b);
            }
            json.end();
        }
        json.end().close();
    }

    static String diff(SnapshotDiff diff) {
        Json json = new Json().open().field("from", diff.from()).field("to", diff.to());
        changes(json.key("tags"), diff.tags());
        changes(json.key("sites"), diff.sites());
        return json.field("text", diff.text()).close().toString();
    }

    private static void changes(Json json, List<SnapshotDiff.Change> changes) {
        json.array();
        for (SnapshotDiff.Change c : changes) {
            json.open().field("name", c.name()).field("bytesBefore", c.bytesBefore()).field("bytesAfter", c.bytesAfter())
                .field("blocksBefore", c.blocksBefore()).field("blocksAfter", c.blocksAfter())
                .field("bytes", c.bytes()).field("blocks", c.blocks()).close();
        }
        json.end();
    }

    static String error(String message) {
        return new Json().open().field("error", message).close().toString();
    }
}
