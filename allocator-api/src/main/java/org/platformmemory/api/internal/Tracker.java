package org.platformmemory.api.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

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
 *   <li>{@code leaks}: also the allocation site and number of every block, and the break on allocation
 *       {@code breakAlloc};
 *   <li>{@code debug}: also the site of each free, fills (0xCD new, 0xDD freed) and guards (0xFD) checked
 *       before a block is resized or given back, on demand, and every {@code checkEvery} calls.
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

    /** The site table naming this tracker's site ids. */
    public SiteTable sites() {
        return sites;
    }

    /**
     * Makes allocation {@code number} (1 for the first, {@link #allocations} so far) report
     * {@link ErrorCode#BREAK_ALLOC} as it is made; 0 turns the break off. Only {@code leaks} and
     * {@code debug} number blocks; {@code counters} ignores it.
     */
    public void breakAt(long number) {
    }

    /** The allocations numbered so far ({@code leaks} and {@code debug}; 0 in {@code counters}). */
    public long allocations() {
        return 0;
    }

    /**
     * {@code debug}: runs {@code check} (the whole heap's check) every {@code every} allocations, frees
     * and reallocations, on the thread that made the call; 0 turns it off. Ignored in other modes.
     */
    public void checkEvery(long every, Runnable check) {
    }

    /**
     * {@code debug}: the site of the free the calling thread is about to make (a C caller's stack), for
     * the block's record; {@link SiteTable#NONE} means the Java caller. Ignored in other modes.
     */
    public void freeingAt(int site) {
    }

    /** The site of the free that released a freed block still in the quarantine, or null if none was recorded. */
    public String freeSiteOf(long user) {
        return null;
    }

    /** The allocation number of a live or quarantined block ({@code leaks} and {@code debug}), else 0. */
    public long numberOf(long user) {
        return 0;
    }

    /** The id of an allocation site {@code file:line} ({@code file} null: a C caller that gave none). */
    public int siteId(String file, int line) {
        if (file == null) {
            return unknownSite;
        }
        return sites.idOf(line > 0 ? file + ":" + line : file);
    }

    /** The tracker for {@code mode}, writing the layout {@code header} describes, without sampling. */
    public static Tracker of(Tracking mode, BlockHeader header, ErrorReporter errors) {
        return of(mode, header, errors, null);
    }

    /**
     * The tracker for {@code mode}, writing the layout {@code header} describes; in {@code counters}, with
     * {@code samples} not null, blocks allocated with a site (sampled by the C ABI) are kept there.
     */
    public static Tracker of(Tracking mode, BlockHeader header, ErrorReporter errors, SampledBlocks samples) {
        SiteTable sites = new SiteTable();
        return switch (mode) {
            case COUNTERS -> samples == null ? new Counters(header, sites) : new Sampled(header, sites, samples);
            case LEAKS -> new Sites(header, sites, errors);
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

    /** {@code CLEAR}'s zeroing of a new block, unless its bytes read as zero already. */
    static void clear(long user, long size, int flags, boolean zeroed) {
        if ((flags & MemoryFlags.CLEAR) != 0 && !zeroed) {
            NativeMemory.fill(user, size, (byte) 0);
        }
    }

    /** Dresses a resized block: fills the {@code oldSize..newSize} tail it grew by, rewrites guards. */
    public void onResize(long user, long oldSize, long newSize, int flags) {
        if (newSize > oldSize && (flags & MemoryFlags.CLEAR) != 0) {
            NativeMemory.fill(user + oldSize, newSize - oldSize, (byte) 0);
        }
    }

    /** A block a reallocation moved from {@code from} to {@code to}, now of {@code size} bytes. */
    public void onMoved(long from, long to, long size) {
    }

    /** The sampled blocks ({@code counters} with {@code allocator.sample}), or null. */
    public SampledBlocks samples() {
        return null;
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
            clear(user, size, flags, zeroed);
        }
    }

    /** {@code counters} with sampling: a block allocated with a site was sampled, and is kept until freed. */
    private static final class Sampled extends Tracker {
        private final SampledBlocks samples;

        Sampled(BlockHeader header, SiteTable sites, SampledBlocks samples) {
            super(header, sites);
            this.samples = samples;
        }

        @Override
        public void onAllocate(long user, long size, int flags, int site, boolean zeroed) {
            if (site < 0) {
                samples.add(user, size, site);
            }
            clear(user, size, flags, zeroed);
        }

        @Override
        public void onMoved(long from, long to, long size) {
            samples.moved(from, to, size);
        }

        @Override
        public void beforeRelease(long user, long size, String op) {
            samples.remove(user);
        }

        @Override
        public void beforeDiscard(long user, long size, String op) {
            samples.remove(user);
        }

        @Override
        public SampledBlocks samples() {
            return samples;
        }
    }

    private static class Sites extends Tracker {
        final ErrorReporter errors;
        private final AtomicLong numbers = new AtomicLong();
        private volatile long breakAt;

        Sites(BlockHeader header, SiteTable sites, ErrorReporter errors) {
            super(header, sites);
            this.errors = errors;
        }

        @Override
        public void onAllocate(long user, long size, int flags, int site, boolean zeroed) {
            record(user, size, site);
            clear(user, size, flags, zeroed);
        }

        /** Writes the record of a new block (site and number) and makes the break when it is the one. */
        final void record(long user, long size, int site) {
            long number = numbers.incrementAndGet();
            header.writeRecord(user, site != SiteTable.NONE ? site : callerSite(), number);
            if (number == breakAt) {
                errors.reportHeld(ErrorCode.BREAK_ALLOC, "allocation #" + number + " (" + size + " bytes, block "
                    + hex(user) + ") is being made: allocator.breakAlloc=" + number, user);
            }
        }

        @Override
        public void breakAt(long number) {
            breakAt = Math.max(number, 0);
        }

        @Override
        public long allocations() {
            return numbers.get();
        }

        @Override
        public String siteOf(long user) {
            return sites.nameOf(header.site(user));
        }

        @Override
        public long numberOf(long user) {
            return header.number(user);
        }

        final int callerSite() {
            String frame = StackWalker.getInstance().walk(frames -> frames
                .filter(f -> !FACADE.contains(f.getClassName()) && !f.getClassName().startsWith(ROOMS))
                .findFirst()
                .map(f -> f.getClassName() + "." + f.getMethodName() + "(" + f.getFileName() + ":" + f.getLineNumber() + ")")
                .orElse(null));
            return frame == null ? SiteTable.NONE : sites.idOf(frame);
        }
    }

    private static final class Debug extends Sites {
        /** The site of the free each thread is making (set by {@link #freeingAt}, taken by the release). */
        private final ThreadLocal<int[]> freeing = ThreadLocal.withInitial(() -> new int[1]);
        private final AtomicLong calls = new AtomicLong();
        private final AtomicBoolean checking = new AtomicBoolean();
        private volatile long checkEvery;
        private volatile Runnable check;

        Debug(BlockHeader header, SiteTable sites, ErrorReporter errors) {
            super(header, sites, errors);
        }

        @Override
        public void onAllocate(long user, long size, int flags, int site, boolean zeroed) {
            record(user, size, site);
            if ((flags & MemoryFlags.CLEAR) == 0 || !zeroed) {
                NativeMemory.fill(user, size, (flags & MemoryFlags.CLEAR) != 0 ? 0 : BlockHeader.FILL_NEW);
            }
            header.writeGuards(user, size);
            countCall();
        }

        @Override
        public void onResize(long user, long oldSize, long newSize, int flags) {
            if (newSize > oldSize) {
                byte fill = (flags & MemoryFlags.CLEAR) != 0 ? 0 : BlockHeader.FILL_NEW;
                NativeMemory.fill(user + oldSize, newSize - oldSize, fill);
            }
            header.writeGuards(user, newSize);
            countCall();
        }

        @Override
        public void beforeResize(long user, long size) {
            check(user, size, "reallocate");
        }

        @Override
        public void beforeRelease(long user, long size, String op) {
            check(user, size, op);
            int[] site = freeing.get();
            header.writeFreeSite(user, site[0] != SiteTable.NONE ? site[0] : callerSite());
            site[0] = SiteTable.NONE;
            header.fillFreed(user, size);
            countCall();
        }

        @Override
        public void beforeDiscard(long user, long size, String op) {
            check(user, size, op);
        }

        @Override
        public void freeingAt(int site) {
            freeing.get()[0] = site;
        }

        @Override
        public String freeSiteOf(long user) {
            int site = header.freeSite(user);
            return site == SiteTable.NONE ? null : sites.nameOf(site);
        }

        @Override
        public void checkEvery(long every, Runnable check) {
            this.check = check;
            this.checkEvery = Math.max(every, 0);
        }

        /** Counts an allocator call; every {@code checkEvery}th runs the heap check (never inside itself). */
        private void countCall() {
            long every = checkEvery;
            if (every > 0 && calls.incrementAndGet() % every == 0 && checking.compareAndSet(false, true)) {
                try {
                    check.run();
                } finally {
                    checking.set(false);
                }
            }
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
                    // mended while the block cannot be freed (its stripe is locked): one damage, one report
                    header.writeGuards(user, size);
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
