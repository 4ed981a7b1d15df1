package org.platformmemory.api.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.MemoryFlags;
import org.platformmemory.api.Tracking;
import org.platformmemory.api.kit.NativeMemory;

import static org.platformmemory.api.internal.ErrorReporter.hex;

/**
 * What a tracking mode does to a block beyond its core header, chosen once when the facade opens (as
 * LWJGL picks its debug allocator once), so the block protocol tests no mode on any call:
 * <ul>
 *   <li>{@code counters}: nothing but {@code CLEAR}'s zeroing;
 *   <li>{@code leaks}: also the allocation site of every block;
 *   <li>{@code debug}: also fills (0xCD new, 0xDD freed) and guards (0xFD) checked before a block is
 *       resized or given back, and on demand.
 * </ul>
 * Thread-safe; the methods only touch the block they are given, which the caller has claimed.
 */
public abstract class Tracker {

    /** The facade's public classes: they, and this package's, are skipped when a Java caller's site is looked up. */
    private static final Set<String> FACADE = Set.of("org.platformmemory.api.TrackedAllocator",
        "org.platformmemory.api.PrivateHeap");
    private static final String ROOMS = Tracker.class.getPackageName() + ".";

    final BlockHeader header;
    final SiteTable sites;
    private final int unknownSite;

    private Tracker(BlockHeader header, SiteTable sites) {
        this.header = header;
        this.sites = sites;
        this.unknownSite = sites.idOf("(C caller, no file:line)");
    }

    /** The id of an allocation site {@code file:line} ({@code file} null: a C caller that gave none). */
    public int siteId(String file, int line) {
        if (file == null) {
            return unknownSite;
        }
        return sites.idOf(line > 0 ? file + ":" + line : file);
    }

    /** The tracker for {@code mode}, writing the layout {@code header} describes. */
    public static Tracker of(Tracking mode, BlockHeader header, ErrorReporter errors) {
        SiteTable sites = new SiteTable();
        return switch (mode) {
            case COUNTERS -> new Counters(header, sites);
            case LEAKS -> new Sites(header, sites);
            case DEBUG -> new Debug(header, sites, errors);
        };
    }

    /** Dresses a new block of {@code size} bytes: site, fill, guards. {@code site} 0 means the Java caller. */
    public final void onAllocate(long user, long size, int flags, int site) {
        onAllocate(user, size, flags, site, false);
    }

    /**
     * As {@link #onAllocate(long, long, int, int)}; {@code zeroed} says the block's bytes read as zero
     * already (the backend's {@link org.platformmemory.api.Allocator#allocateZeroed}), so {@code CLEAR}
     * writes nothing.
     */
    public abstract void onAllocate(long user, long size, int flags, int site, boolean zeroed);

    /** Dresses a resized block: fills the {@code oldSize..newSize} tail it grew by, rewrites guards. */
    public void onResize(long user, long oldSize, long newSize, int flags) {
        if (newSize > oldSize && (flags & MemoryFlags.CLEAR) != 0) {
            NativeMemory.fill(user + oldSize, newSize - oldSize, (byte) 0);
        }
    }

    /** Checks a block about to be resized ({@code debug}: its guards). */
    public void beforeResize(long user, long size) {
    }

    /** Checks and marks a block about to go back to its allocator ({@code debug}: guards, then the freed fill). */
    public void beforeRelease(long user, long size, String op) {
    }

    /** Checks a block whose memory goes with its destroyed heap ({@code debug}: its guards). */
    public void beforeDiscard(long user, long size, String op) {
    }

    /** The site of a live block, as {@link SiteTable#nameOf} names it ({@link SiteTable#NOT_RECORDED} in counters mode). */
    public String siteOf(long user) {
        return SiteTable.NOT_RECORDED;
    }

    /** Checks every live block's guards, reporting each damaged one; the count found ({@code debug} only). */
    public int checkAll(LiveBlockSet blocks) {
        return 0;
    }

    private static final class Counters extends Tracker {
        Counters(BlockHeader header, SiteTable sites) {
            super(header, sites);
        }

        @Override
        public void onAllocate(long user, long size, int flags, int site, boolean zeroed) {
            if ((flags & MemoryFlags.CLEAR) != 0 && !zeroed) {
                NativeMemory.fill(user, size, (byte) 0);
            }
        }
    }

    private static class Sites extends Tracker {
        Sites(BlockHeader header, SiteTable sites) {
            super(header, sites);
        }

        @Override
        public void onAllocate(long user, long size, int flags, int site, boolean zeroed) {
            header.writeSite(user, site != SiteTable.NONE ? site : callerSite());
            if ((flags & MemoryFlags.CLEAR) != 0 && !zeroed) {
                NativeMemory.fill(user, size, (byte) 0);
            }
        }

        @Override
        public String siteOf(long user) {
            return sites.nameOf(header.site(user));
        }

        private int callerSite() {
            String frame = StackWalker.getInstance().walk(frames -> frames
                .filter(f -> !FACADE.contains(f.getClassName()) && !f.getClassName().startsWith(ROOMS))
                .findFirst()
                .map(f -> f.getClassName() + "." + f.getMethodName() + "(" + f.getFileName() + ":" + f.getLineNumber() + ")")
                .orElse(null));
            return frame == null ? SiteTable.NONE : sites.idOf(frame);
        }
    }

    private static final class Debug extends Sites {
        private final ErrorReporter errors;

        Debug(BlockHeader header, SiteTable sites, ErrorReporter errors) {
            super(header, sites);
            this.errors = errors;
        }

        @Override
        public void onAllocate(long user, long size, int flags, int site, boolean zeroed) {
            header.writeSite(user, site != SiteTable.NONE ? site : super.callerSite());
            if ((flags & MemoryFlags.CLEAR) == 0 || !zeroed) {
                NativeMemory.fill(user, size, (flags & MemoryFlags.CLEAR) != 0 ? 0 : BlockHeader.FILL_NEW);
            }
            header.writeGuards(user, size);
        }

        @Override
        public void onResize(long user, long oldSize, long newSize, int flags) {
            if (newSize > oldSize) {
                byte fill = (flags & MemoryFlags.CLEAR) != 0 ? 0 : BlockHeader.FILL_NEW;
                NativeMemory.fill(user + oldSize, newSize - oldSize, fill);
            }
            header.writeGuards(user, newSize);
        }

        @Override
        public void beforeResize(long user, long size) {
            check(user, size, "reallocate");
        }

        @Override
        public void beforeRelease(long user, long size, String op) {
            check(user, size, op);
            header.fillFreed(user, size);
        }

        @Override
        public void beforeDiscard(long user, long size, String op) {
            check(user, size, op);
        }

        @Override
        public int checkAll(LiveBlockSet blocks) {
            List<long[]> damaged = new ArrayList<>();
            blocks.forEach(user -> {
                long size = header.size(user);
                long front = header.frontDamage(user);
                long back = header.backDamage(user, size);
                if (front >= 0 || back >= 0) {
                    damaged.add(new long[] {user, size, front, back});
                }
            });
            // reported outside the set's locks: a handler may call back into the allocator
            for (long[] d : damaged) {
                reportGuard(d[0], d[1], d[2], d[3], "check");
            }
            return damaged.size();
        }

        private void check(long user, long size, String op) {
            long front = header.frontDamage(user);
            long back = header.backDamage(user, size);
            if (front >= 0 || back >= 0) {
                reportGuard(user, size, front, back, op);
            }
        }

        private void reportGuard(long user, long size, long front, long back, String op) {
            String where = front >= 0
                ? "the guard before it was overwritten at byte " + (front - BlockHeader.GUARD) + " (buffer underrun)"
                : "the guard after it was overwritten at byte " + (size + back) + " (buffer overrun)";
            errors.reportHeld(ErrorCode.GUARD_CORRUPTED, op + ": block " + hex(user) + " (" + size + " bytes): " + where, user);
        }
    }
}
