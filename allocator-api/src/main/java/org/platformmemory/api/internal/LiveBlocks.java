package org.platformmemory.api.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.platformmemory.api.LiveBlock;
import org.platformmemory.api.MemoryFlags;
import org.platformmemory.api.Tracking;

import static org.platformmemory.api.internal.ErrorReporter.hex;

/**
 * What the facade can say about its live blocks without claiming them: one block's size and heap, the
 * whole list, and the text of a leak report (every block with its site, then the totals by site). Reads
 * the live-block set under its stripe locks, so it may run while other threads allocate and free.
 */
public final class LiveBlocks {

    private final LiveBlockSet blocks;
    private final BlockHeader header;
    private final Tracker tracker;
    private final String title;
    private final LiveBlockSet.Reader sizeReader;
    private final LiveBlockSet.Reader heapReader;

    public LiveBlocks(LiveBlockSet blocks, BlockHeader header, Tracker tracker, String backend, Tracking mode) {
        this.blocks = blocks;
        this.header = header;
        this.tracker = tracker;
        this.title = "platform-memory leak report (backend " + backend + ", tracking "
            + mode.name().toLowerCase(Locale.ROOT) + ")\n";
        this.sizeReader = header::size;
        this.heapReader = header::heap;
    }

    /** The requested size of a live block; 0 for an address that is not one. */
    public long sizeOf(long address) {
        return blocks.readIfLive(address, sizeReader, 0);
    }

    /** The id of the heap a live block belongs to, 0 for none, or -1 for an address that is not a live block. */
    public int heapIdOf(long address) {
        int tag = heapTagOf(address);
        return tag == -1 ? -1 : HeapRegistry.idOf(tag);
    }

    /** The heap tag a live block carries, 0 for none, or -1 for an address that is not a live block. */
    public int heapTagOf(long address) {
        return (int) blocks.readIfLive(address, heapReader, -1);
    }

    /** Every live block, by address. */
    public List<LiveBlock> list() {
        List<LiveBlock> out = new ArrayList<>();
        blocks.forEach(user -> {
            long word0 = header.word0(user);
            out.add(new LiveBlock(user, BlockHeader.sizeOf(word0), BlockHeader.flagsOf(word0), tracker.siteOf(user),
                tracker.numberOf(user)));
        });
        out.sort(Comparator.comparingLong(LiveBlock::address));
        return out;
    }

    /**
     * A readable report of every live block (address, size, flags, allocation number, site) and the totals,
     * then by site, the most bytes first, each call stack one frame a line.
     */
    public String text() {
        List<LiveBlock> live = list();
        long bytes = 0;
        Map<String, long[]> bySite = new LinkedHashMap<>();
        StringBuilder out = new StringBuilder(title);
        for (LiveBlock b : live) {
            bytes += b.size();
            long[] t = bySite.computeIfAbsent(b.site(), k -> new long[2]);
            t[0]++;
            t[1] += b.size();
            out.append("  ").append(hex(b.address())).append("  ").append(b.size()).append(" bytes  ")
                .append(MemoryFlags.describe(b.flags()));
            if (b.number() > 0) {
                out.append("  #").append(b.number());
            }
            out.append("  at ").append(b.site()).append('\n');
        }
        if (!live.isEmpty()) {
            out.append("by site:\n");
            List<Map.Entry<String, long[]>> sites = new ArrayList<>(bySite.entrySet());
            sites.sort((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1]));
            for (Map.Entry<String, long[]> e : sites) {
                long[] t = e.getValue();
                String[] frames = e.getKey().split(java.util.regex.Pattern.quote(SiteTable.CALLED_FROM));
                out.append("  ").append(frames[0]).append(": ").append(t[0]).append(t[0] == 1 ? " block, " : " blocks, ")
                    .append(t[1]).append(" bytes\n");
                for (int i = 1; i < frames.length; i++) {
                    out.append("      from ").append(frames[i]).append('\n');
                }
            }
        }
        out.append("total: ").append(live.size()).append(live.size() == 1 ? " live block, " : " live blocks, ")
            .append(bytes).append(" bytes\n");
        return out.toString();
    }
}
