package org.platformmemory.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.platformmemory.api.BlockSupply;
import org.platformmemory.api.TrackedAllocator;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The Java side of the shim's per-thread caches (pm_cache.c): the caches borrow blocks from the facade's
 * {@link BlockSupply} through the table's {@code cache_refill}/{@code cache_release} entries; this class
 * keeps the shim's depot (the blocks a thread takes on its first calls, so it need not wait for the JVM)
 * full on a daemon thread, and reads the caches' counts for the facade's statistics. The shim's services
 * are FFM downcalls, checked by {@link AbiContract} like the call table.
 */
final class ShimCache implements BlockSupply.Counts {

    /** The shim's services (PM_SERVICES in platform_memory_shim.h), in order, as {@link AbiContract} checks them. */
    static final List<Map.Entry<String, FunctionDescriptor>> SERVICES = List.of(
        Map.entry("cacheTotals", FunctionDescriptor.ofVoid(JAVA_LONG)),
        Map.entry("cacheClassInfo", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG)),
        Map.entry("depotWait", FunctionDescriptor.of(JAVA_INT, JAVA_INT)),
        Map.entry("depotPut", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT)),
        Map.entry("depotTake", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT)),
        Map.entry("cacheTagTotals", FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_INT)),
        Map.entry("cacheFrameEnd", FunctionDescriptor.of(JAVA_LONG, JAVA_INT)),
        Map.entry("cacheTagRoute", FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT)));

    private static final Linker LINKER = Linker.nativeLinker();

    private final BlockSupply supply;
    private final Map<String, Long> services;
    /** The downcalls to the shim's services, made on first use: see {@link #services()}. */
    private volatile Services linked;
    private final Object linking = new Object();
    private final MemorySegment tagCounts = Arena.global().allocate(JAVA_LONG, 4L * 256);
    private final MemorySegment counts = Arena.global().allocate(JAVA_LONG, 5);
    private final Thread keeper;
    private final long largest;
    /** Reads the facade's insights once (class loading) on the keeper thread: see {@link #warmUp}. */
    private volatile Runnable warmInsights = () -> { };

    /** The shim's services as downcalls, and the caches' classes: {block size, batch, depot target}. */
    private record Services(MethodHandle totals, MethodHandle depotWait, MethodHandle depotPut, MethodHandle depotTake,
                            MethodHandle tagTotals, MethodHandle frameEnd, MethodHandle tagRoute, long[][] classes) {
    }

    private ShimCache(BlockSupply supply, Map<String, Long> services, long largest) {
        this.supply = supply;
        this.services = services;
        this.largest = largest;
        this.keeper = Thread.ofPlatform().daemon(true).name("platform-memory-depot").unstarted(this::keepDepot);
    }

    /**
     * The services, linked on first use: the keeper thread links them as it starts, so the start of the
     * layer (the game's first call) does not wait for eight downcalls to be made.
     */
    private Services services() throws Throwable {
        Services s = linked;
        if (s != null) {
            return s;
        }
        synchronized (linking) {
            if (linked == null) {
                MethodHandle classInfo = downcall(services, "cacheClassInfo");
                List<long[]> found = new ArrayList<>();
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment info = arena.allocate(JAVA_LONG, 3);
                    for (int c = 0; (int) classInfo.invokeExact(c, info.address()) != 0; c++) {
                        found.add(new long[] {info.getAtIndex(JAVA_LONG, 0), info.getAtIndex(JAVA_LONG, 1),
                            info.getAtIndex(JAVA_LONG, 2)});
                    }
                }
                linked = new Services(downcall(services, "cacheTotals"), downcall(services, "depotWait"),
                    downcall(services, "depotPut"), downcall(services, "depotTake"), downcall(services, "cacheTagTotals"),
                    downcall(services, "cacheFrameEnd"), downcall(services, "cacheTagRoute"),
                    found.toArray(long[][]::new));
            }
            return linked;
        }
    }

    /**
     * The caches' Java side for a facade just opened; null when the facade cannot lend blocks
     * ({@link BlockSupply#available()}) or {@code wanted} is false (option fastpath=off). The depot keeper
     * starts when the shim, ready for it, asks for {@link NativeExports}' cache limit ({@link #startKeeper}).
     */
    static ShimCache start(TrackedAllocator memory, Map<String, Long> services, boolean wanted, long largest) {
        BlockSupply supply = memory.supply();
        if (!wanted || !supply.available()) {
            return null;
        }
        ShimCache cache = new ShimCache(supply, services, largest);
        supply.setCounts(cache);
        cache.warmInsights = () -> {
            memory.insights().tagStats();
            memory.insights().lastFrame();
            memory.insights().recentFrames();
        };
        return cache;
    }

    private static MethodHandle downcall(Map<String, Long> services, String name) {
        Long address = services.get(name);
        if (address == null) {
            throw new IllegalStateException("the shim does not describe its service " + name);
        }
        FunctionDescriptor descriptor = SERVICES.stream().filter(e -> e.getKey().equals(name)).findFirst()
            .orElseThrow().getValue();
        return LINKER.downcallHandle(MemorySegment.ofAddress(address), descriptor);
    }

    /** Starts the depot keeper once; the shim calls for it after it has reset its depot. */
    synchronized void startKeeper() {
        if (keeper.getState() == Thread.State.NEW) {
            keeper.start();
        }
    }

    BlockSupply supply() {
        return supply;
    }

    /** The largest request the caches serve in this start (option fastpath.largest). */
    long largest() {
        return largest;
    }

    /** Waits a little for the keeper, which the shim has told to stop (its depot_wait answers -2). */
    void stop() {
        supply.setCounts(null);
        try {
            keeper.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void read(long[] into) {
        readCounts(into);
    }

    @Override
    public synchronized void readTags(long[] into) {
        int tags = (int) Math.min(into.length / 4, tagCounts.byteSize() / 32);
        try {
            services().tagTotals().invokeExact(tagCounts.address(), tags);
        } catch (Throwable t) {
            throw new IllegalStateException("reading the shim's tag counts failed", t);
        }
        MemorySegment.copy(tagCounts, JAVA_LONG, 0, into, 0, 4 * tags);
    }

    @Override
    public long endFrame() {
        try {
            return (long) services().frameEnd().invokeExact(1);
        } catch (Throwable t) {
            throw new IllegalStateException("ending the shim's frame failed", t);
        }
    }

    @Override
    public void budgetChanged(int id, boolean budgeted) {
        try {
            services().tagRoute().invokeExact(id, budgeted ? 1 : 0);
        } catch (Throwable t) {
            throw new IllegalStateException("routing tag " + id + " failed", t);
        }
    }

    private synchronized void readCounts(long[] into) {
        try {
            services().totals().invokeExact(counts.address());
        } catch (Throwable t) {
            throw new IllegalStateException("reading the shim's counts failed", t);
        }
        for (int i = 0; i < 5; i++) {
            into[i] = counts.getAtIndex(JAVA_LONG, i);
        }
    }

    /**
     * Makes the calls a frame mark and a statistics read need once, on the keeper thread, so that the
     * game's first frame mark does not pay for loading classes and linking downcalls (measured: 6 ms).
     */
    private void warmUp() {
        try {
            long ignored = (long) services().frameEnd().invokeExact(0);
            readTags(new long[4 * 256]);
            read(new long[5]);
            warmInsights.run();
        } catch (Throwable t) {
            // a warm-up only saves time later
        }
    }

    /** Refills the depot's classes below their target and trims those above their high mark, until stopped. */
    private void keepDepot() {
        try {
            Services s = services();
            MethodHandle depotWait = s.depotWait();
            MethodHandle depotPut = s.depotPut();
            MethodHandle depotTake = s.depotTake();
            long[][] classes = s.classes();
            warmUp();
            long most = 0;
            for (long[] c : classes) {
                most = Math.max(most, 4 * c[1]);
            }
            MemorySegment buffer = Arena.ofAuto().allocate(JAVA_LONG, Math.max(1, most));
            for (;;) {
                int work = (int) depotWait.invokeExact(250);
                if (work == -2) {
                    return;
                }
                if (work < 0) {
                    continue;
                }
                long[] c = classes[work & 255];
                if ((work & 256) != 0) {
                    int taken = (int) depotTake.invokeExact(work & 255, buffer.address(), (int) most);
                    supply.takeBack(c[0], buffer.address(), taken);
                    if (taken == 0) {
                        Thread.sleep(50); // nothing to take after all: not a spin
                    }
                    continue;
                }
                int lent = supply.lend(c[0], buffer.address(), (int) c[2]);
                int put = lent == 0 ? 0 : (int) depotPut.invokeExact(work, buffer.address(), lent);
                if (put < lent) {
                    supply.takeBack(c[0], buffer.address() + 8L * put, lent - put);
                }
                if (lent == 0) {
                    Thread.sleep(50); // no memory now: the threads fall back to refills through the table
                }
            }
        } catch (Throwable t) {
            // the keeper is a convenience: without it new threads refill through the table
            NativeExports.reportToC(NativeExports.ERR_INTERNAL, "the depot keeper stopped: " + t, 0);
        }
    }
}
