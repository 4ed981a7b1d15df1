package org.platformmemory.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.platformmemory.api.internal.Accounting;
import org.platformmemory.api.internal.TagTable;

/**
 * Memory insights of one {@link TrackedAllocator} ({@link TrackedAllocator#insights()}): allocation tags
 * with budgets, frames, regions without allocations, snapshots and their diffs, and a JSON report. The C
 * ABI's {@code Platform_Mem_PushTag}, {@code Platform_Mem_FrameMark} and the like map onto these methods.
 *
 * <p>Tags: every block is charged to the innermost tag its allocating thread has pushed ({@code untagged}
 * when none), and stays charged to it until freed (a reallocation keeps it). The figures of all tags add
 * up to the allocator's totals. Thread-safe.
 *
 * <pre>{@code
 * Insights insights = memory.insights();
 * insights.setTagBudget("audio", 48 << 20, 64 << 20);
 * insights.pushTag("audio");
 * try { ... } finally { insights.popTag(); }
 * insights.frameMark();
 * }</pre>
 */
public final class Insights {

    /** Completed frames kept for {@link #recentFrames()}. */
    public static final int FRAMES_KEPT = 240;
    /** Snapshots kept; the oldest goes first. */
    public static final int SNAPSHOTS_KEPT = 256;
    /** Sites kept in a snapshot: the largest by live bytes. */
    public static final int SITES_KEPT = 1000;

    /** The caches' part of a frame: their rise in live bytes within the frame that is ending. */
    @FunctionalInterface
    public interface FrameSource {
        /** Ends the caches' frame; returns the most their live bytes rose within it (each thread's rise, summed). */
        long endFrame();
    }

    private final TrackedAllocator owner;
    private final TagTable tags;
    private final Accounting accounting;
    private volatile FrameSource frameSource = () -> 0;

    // frames: under this object's monitor
    private long frames;
    private long[] totalsAtMark = new long[4];
    private long liveAtMark;
    private long javaLiveAtMark;
    private final ArrayDeque<FrameStats> recent = new ArrayDeque<>();

    // snapshots: under the list's monitor
    private final ArrayDeque<Snapshot> snapshots = new ArrayDeque<>();
    private long snapshotIds;

    Insights(TrackedAllocator owner, TagTable tags, Accounting accounting) {
        this.owner = owner;
        this.tags = tags;
        this.accounting = accounting;
    }

    // ---- tags -----------------------------------------------------------------------------------

    /**
     * Pushes a tag on the calling thread: its blocks are charged to it until {@link #popTag()}. Nesting
     * is allowed; the innermost wins. Returns the tag's id ({@code > 0}), or 0 when all
     * {@value TagTable#MAX_TAGS} tags are in use (reported; the thread's blocks then go to {@code untagged}
     * until the matching pop).
     */
    public int pushTag(String name) {
        return tags.push(name);
    }

    /** The id of tag {@code name}, made on first use; 0 when all tags are in use (reported). */
    public int tagId(String name) {
        return tags.id(name);
    }

    /**
     * Makes {@code id} the calling thread's tag and sets its forbidden flag, for a layer in front of the
     * facade that keeps its threads' tag stacks itself (the C shim); it replaces the thread's stack.
     */
    public void adoptThreadTag(int id, boolean forbidden) {
        tags.adopt(id, forbidden);
    }

    /** Pops the calling thread's innermost tag (nothing when none is pushed). */
    public void popTag() {
        tags.pop();
    }

    /** The id of the tag the calling thread's blocks are charged to now (0: {@code untagged}). */
    public int currentTag() {
        return tags.current();
    }

    /** The name of tag {@code id} ({@code untagged} for 0). */
    public String tagName(int id) {
        return id >= 0 && id < tags.size() ? tags.name(id) : null;
    }

    /**
     * Sets a tag's budgets, creating the tag if needed: crossing {@code softBytes} reports
     * {@link ErrorCode#BUDGET} once per crossing; an allocation that would take it past {@code hardBytes}
     * fails ({@link ErrorCode#ALLOCATION_FAILED}, naming the tag). 0 removes a budget. Allocations under a
     * tag with a budget take the Java path (the caches cannot check a shared total without a shared atomic).
     *
     * @return the tag's id, or -1 when all tags are in use or a budget is negative (a C size above
     *         {@code Long.MAX_VALUE}: reported as {@link ErrorCode#SIZE_OVERFLOW})
     */
    public int setTagBudget(String name, long softBytes, long hardBytes) {
        if (name == null) {
            return -1;
        }
        if (softBytes < 0 || hardBytes < 0) {
            owner.reportError(ErrorCode.SIZE_OVERFLOW, "setTagBudget(" + name + ", " + Long.toUnsignedString(softBytes)
                + ", " + Long.toUnsignedString(hardBytes) + "): a budget above " + Long.MAX_VALUE
                + " bytes (SIZE_MAX?); no budget was changed", 0);
            return -1;
        }
        return tags.setBudget(name.isEmpty() ? TagTable.UNTAGGED : name, softBytes, hardBytes);
    }

    /** Every tag's figures, {@code untagged} first. Their live bytes and blocks add up to the totals. */
    public List<TagStats> tagStats() {
        return tags.stats();
    }

    /**
     * Starts ({@code true}) or ends a region of the calling thread where every allocation is reported as
     * {@link ErrorCode#FORBIDDEN} (and still served): a game's "no allocation in the frame loop" check.
     */
    public void forbidAllocations(boolean on) {
        tags.forbid(on);
    }

    // ---- frames ---------------------------------------------------------------------------------

    /** Sets the caches' part of frames (the C shim); null: none. */
    public void setFrameSource(FrameSource source) {
        this.frameSource = source == null ? () -> 0 : source;
    }

    /** Ends the current frame: its figures become {@link #lastFrame()}. Returns them. */
    public synchronized FrameStats frameMark() {
        long cachesRise = frameSource.endFrame();
        long javaPeak = accounting.restartFramePeak();
        long[] totals = tags.totals();
        long live = owner.liveBytes();
        long javaLive = accounting.liveBytes();
        long rise = Math.max(0, javaPeak - javaLiveAtMark) + Math.max(0, cachesRise);
        long peak = Math.max(Math.max(liveAtMark, live), Math.min(liveAtMark + rise,
            liveAtMark + totals[2] - totalsAtMark[2]));
        FrameStats frame = new FrameStats(++frames, totals[0] - totalsAtMark[0], totals[1] - totalsAtMark[1],
            totals[2] - totalsAtMark[2], totals[3] - totalsAtMark[3], peak, live);
        totalsAtMark = totals;
        liveAtMark = live;
        javaLiveAtMark = javaLive;
        recent.addLast(frame);
        if (recent.size() > FRAMES_KEPT) {
            recent.removeFirst();
        }
        org.platformmemory.api.jfr.MemoryEvents.frame(owner, frame);
        return frame;
    }

    /** The last completed frame, or all zeros before the first {@link #frameMark()}. */
    public synchronized FrameStats lastFrame() {
        FrameStats last = recent.peekLast();
        return last != null ? last : new FrameStats(0, 0, 0, 0, 0, 0, 0);
    }

    /** The last {@value #FRAMES_KEPT} completed frames, oldest first. */
    public synchronized List<FrameStats> recentFrames() {
        return List.copyOf(recent);
    }

    // ---- snapshots ------------------------------------------------------------------------------

    /** Records the live figures per tag (and per site with tracking {@code leaks} or {@code debug}); returns its id. */
    public long snapshot() {
        Snapshot taken = take();
        synchronized (snapshots) {
            Snapshot s = new Snapshot(++snapshotIds, taken.timeMillis(), taken.frame(), taken.liveBytes(),
                taken.liveBlocks(), taken.tags(), taken.sites());
            snapshots.addLast(s);
            if (snapshots.size() > SNAPSHOTS_KEPT) {
                snapshots.removeFirst();
            }
            return s.id();
        }
    }

    /** The snapshots kept, oldest first. */
    public List<Snapshot> snapshots() {
        synchronized (snapshots) {
            return List.copyOf(snapshots);
        }
    }

    /** The snapshot {@code id}, or null if it was never taken or no longer kept. */
    public Snapshot snapshotById(long id) {
        synchronized (snapshots) {
            for (Snapshot s : snapshots) {
                if (s.id() == id) {
                    return s;
                }
            }
        }
        return null;
    }

    /**
     * What grew and shrank from snapshot {@code from} to snapshot {@code to} (0: now), by tag and by site;
     * null when either is unknown.
     */
    public SnapshotDiff diff(long from, long to) {
        Snapshot a = snapshotById(from);
        Snapshot b = to == 0 ? take() : snapshotById(to);
        if (a == null || b == null) {
            return null;
        }
        List<SnapshotDiff.Change> tagChanges = changes(
            a.tags().stream().collect(LinkedHashMap::new, (m, t) -> m.put(t.name(), new long[] {t.liveBytes(), t.liveBlocks()}), Map::putAll),
            b.tags().stream().collect(LinkedHashMap::new, (m, t) -> m.put(t.name(), new long[] {t.liveBytes(), t.liveBlocks()}), Map::putAll));
        List<SnapshotDiff.Change> siteChanges = changes(
            a.sites().stream().collect(LinkedHashMap::new, (m, s) -> m.put(s.site(), new long[] {s.liveBytes(), s.liveBlocks()}), Map::putAll),
            b.sites().stream().collect(LinkedHashMap::new, (m, s) -> m.put(s.site(), new long[] {s.liveBytes(), s.liveBlocks()}), Map::putAll));
        boolean estimated = a.sites().stream().anyMatch(SiteStats::estimate) || b.sites().stream().anyMatch(SiteStats::estimate);
        return new SnapshotDiff(from, to, tagChanges, siteChanges, estimated);
    }

    private static List<SnapshotDiff.Change> changes(Map<String, long[]> before, Map<String, long[]> after) {
        Map<String, long[][]> both = new LinkedHashMap<>();
        long[] none = {0, 0};
        before.forEach((k, v) -> both.put(k, new long[][] {v, none}));
        after.forEach((k, v) -> both.computeIfAbsent(k, x -> new long[][] {none, none})[1] = v);
        List<SnapshotDiff.Change> out = new ArrayList<>();
        both.forEach((k, v) -> {
            if (v[0][0] != v[1][0] || v[0][1] != v[1][1]) {
                out.add(new SnapshotDiff.Change(k, v[0][0], v[1][0], v[0][1], v[1][1]));
            }
        });
        out.sort((x, y) -> Long.compare(Math.abs(y.bytes()), Math.abs(x.bytes())));
        return out;
    }

    /**
     * Live blocks by allocation site, the largest first, at most {@value #SITES_KEPT}: every block's with
     * tracking {@code leaks} or {@code debug}; with {@code counters}, estimates from the sampled blocks when
     * {@code allocator.sample} is on ({@link SiteStats#estimate}), else none.
     */
    public List<SiteStats> liveSites() {
        List<SiteStats> sites = new ArrayList<>();
        if (owner.tracking() != Tracking.COUNTERS) {
            Map<String, long[]> bySite = new HashMap<>();
            for (LiveBlock b : owner.liveBlockList()) {
                long[] f = bySite.computeIfAbsent(b.site() == null ? "(no site)" : b.site(), k -> new long[2]);
                f[0] += b.size();
                f[1]++;
            }
            bySite.forEach((k, v) -> sites.add(new SiteStats(k, v[0], v[1])));
        } else {
            Map<String, double[]> bySite = new HashMap<>();
            owner.sampledSites().forEach((id, sums) -> {
                double[] f = bySite.computeIfAbsent(owner.siteName(id), k -> new double[2]);
                f[0] += sums[0];
                f[1] += sums[1];
            });
            bySite.forEach((k, v) -> sites.add(new SiteStats(k, Math.round(v[0]), Math.max(1, Math.round(v[1])), true)));
        }
        sites.sort((x, y) -> Long.compare(y.liveBytes(), x.liveBytes()));
        return sites.subList(0, Math.min(SITES_KEPT, sites.size()));
    }

    /** The live figures now, as a snapshot without an id. */
    private Snapshot take() {
        List<TagStats> tagFigures = tags.stats();
        List<SiteStats> sites = liveSites();
        long bytes = 0;
        long blocks = 0;
        for (TagStats t : tagFigures) {
            bytes += t.liveBytes();
            blocks += t.liveBlocks();
        }
        long frame;
        synchronized (this) {
            frame = frames;
        }
        return new Snapshot(0, System.currentTimeMillis(), frame, bytes, blocks, tagFigures, sites);
    }

    // ---- the report -----------------------------------------------------------------------------

    /** The current figures, tags, recent frames, sites and every snapshot kept, as one JSON object. */
    public String reportJson() {
        return org.platformmemory.api.internal.InsightsJson.report(owner, this, take());
    }

    /** Writes {@link #reportJson()} to {@code path}; false (with nothing half-written left behind) on failure. */
    public boolean writeReport(Path path) {
        Path temporary = path.resolveSibling(path.getFileName() + ".tmp");
        try {
            Files.writeString(temporary, reportJson());
            Files.move(temporary, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return true;
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(temporary);
            } catch (IOException ignored) {
                // nothing more to do
            }
            return false;
        }
    }
}
