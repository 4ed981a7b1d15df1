package org.platformmemory.api.view;

import java.util.List;

import org.platformmemory.api.FrameStats;
import org.platformmemory.api.Insights;
import org.platformmemory.api.SiteStats;
import org.platformmemory.api.Snapshot;
import org.platformmemory.api.SnapshotDiff;
import org.platformmemory.api.TrackedAllocator;
import org.platformmemory.api.internal.InsightsJson;
import org.platformmemory.api.internal.Json;

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
        Json json = new Json().open();
        InsightsJson.head(json, memory, System.currentTimeMillis());
        InsightsJson.totals(json, memory.stats()).field("ramFree", memory.ramFree()).field("ramTotal", memory.ramTotal())
            .close();
        InsightsJson.backendFigures(json, memory);
        InsightsJson.tags(json.key("tags"), insights.tagStats());
        List<FrameStats> frames = insights.recentFrames();
        InsightsJson.frames(json.key("frames"), frames.subList(Math.max(0, frames.size() - FRAMES_SENT), frames.size()));
        List<SiteStats> sites = insights.liveSites();
        InsightsJson.sites(json.key("sites"), sites.subList(0, Math.min(SITES_SENT, sites.size())));
        json.key("snapshots").array();
        for (Snapshot snap : insights.snapshots()) {
            InsightsJson.snapshot(json, snap).close();
        }
        json.end();
        samples(json, samples);
        return json.close().toString();
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
        if (diff.sitesEstimated()) {
            json.field("sitesEstimated", true);
        }
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
