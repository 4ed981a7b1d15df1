package org.platformmemory.api;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

import org.platformmemory.api.internal.BlockHeader;
import org.platformmemory.api.internal.LiveBlockSet;
import org.platformmemory.api.internal.SiteTable;
import org.platformmemory.api.internal.SystemMemory;
import org.platformmemory.api.kit.NativeMemory;

/**
 * The allocator C and Java callers use: a backend behind exact statistics, caller-error detection, a
 * byte budget, leak tracking and debug guards. The C ABI maps one to one onto its methods.
 *
 * <p>Every block carries a small header just before it, so {@link #free} and {@link #reallocate} work
 * with size 0 ("unknown") and need no map from address to size. A lock-striped set of live addresses
 * decides whether a pointer is ours before any of its memory is touched, so a double free, a foreign or
 * interior pointer is reported and nothing is freed twice or corrupted.
 *
 * <p>No method throws on bad input: each returns 0 (or does nothing), counts the error, logs it and
 * tells the {@link ErrorHandler}. In {@link Tracking#COUNTERS} mode the allocate/free/reallocate paths
 * do no Java-heap allocation. All methods are thread-safe. Calls made after {@link #close} are refused;
 * {@link #close(java.time.Duration)} also lets calls already under way on other threads finish first.
 *
 * <pre>{@code
 * try (TrackedAllocator memory = TrackedAllocator.open(AllocatorConfig.parse("allocator.limit=64m"))) {
 *     long p = memory.allocate(256, MemoryFlags.CLEAR);
 *     memory.free(p, 0);
 * }
 * }</pre>
 */
public final class TrackedAllocator implements AutoCloseable {

    /** The largest alignment a caller may ask for: 1 GiB. */
    public static final long MAX_ALIGNMENT = 1L << 30;

    private static final System.Logger LOG = System.getLogger("org.platformmemory");
    /** With a grace period, the backend itself is closed this many grace periods after the blocks are freed. */
    private static final int BACKEND_CLOSE_DELAY = 50;
    /** Heap ids run from 1 to this; 0 is "no heap". */
    private static final int MAX_HEAPS = 4095;
    private static final int HEAP_ID_BITS = 12;
    private static final int HEAP_NATIVE = 1 << HEAP_ID_BITS;

    /**
     * A private heap: its blocks, and where they come from (the backend's own heap, or the backend).
     * Its operations hold its monitor, as a Win32 heap serialises its calls, so a free can never meet
     * a destroy half-way. Blocks carry its {@code tag}: the id, whether it is native, and a generation,
     * so a block of a destroyed heap is never mistaken for one of a later heap with the same id.
     */
    private static final class Heap {
        final int id;
        final int tag;
        final Allocator allocator;
        final boolean isNative;
        final LiveBlockSet blocks = new LiveBlockSet(4);
        /** Set under the monitor; read without it by lookups that re-check under it. */
        volatile boolean destroyed;
        /** Blocks a free or realloc had claimed when destroy came: their memory must stay until they finish. */
        int pendingReleases;

        Heap(int id, int generation, Allocator allocator, boolean isNative) {
            this.id = id;
            this.tag = id | (isNative ? HEAP_NATIVE : 0) | generation << (HEAP_ID_BITS + 1);
            this.allocator = allocator;
            this.isNative = isNative;
        }
    }

    private final Allocator backend;
    private final Tracking tracking;
    private final long limit;
    private final BlockHeader header;
    private final boolean debug;
    private final boolean sites;

    private final LiveBlockSet blocks;
    private final SiteTable siteTable = new SiteTable();
    private final int unknownSite;
    private final LiveBlockSet.Reader sizeReader;
    private final LiveBlockSet.Reader heapReader;

    private final AtomicLong liveBytes = new AtomicLong();
    private final AtomicLong peakBytes = new AtomicLong();
    private final LongAdder failedAllocations = new LongAdder();
    private final LongAdder callerErrors = new LongAdder();

    private final AtomicReferenceArray<Heap> heaps = new AtomicReferenceArray<>(MAX_HEAPS + 1);
    private final java.util.concurrent.atomic.AtomicInteger heapGenerations = new java.util.concurrent.atomic.AtomicInteger();

    private volatile ErrorHandler errorHandler;
    private volatile boolean closed;

    private TrackedAllocator(Allocator backend, Tracking tracking, long limit) {
        this.backend = backend;
        this.tracking = tracking;
        this.limit = limit;
        this.debug = tracking == Tracking.DEBUG;
        this.sites = tracking != Tracking.COUNTERS;
        this.header = new BlockHeader(tracking);
        this.blocks = new LiveBlockSet(Math.max(16, Runtime.getRuntime().availableProcessors() * 8));
        this.unknownSite = siteTable.idOf("(C caller, no file:line)");
        this.sizeReader = header::size;
        this.heapReader = header::heap;
    }

    /**
     * Creates the backend {@code config} selects and puts the facade in front of it.
     *
     * @throws InvalidConfigException for an unknown backend or a malformed setting; the message names
     *                                the key, the value and what is allowed
     */
    public static TrackedAllocator open(AllocatorConfig config) {
        Tracking tracking = config.choice(AllocatorConfig.TRACKING, Tracking.class, Tracking.COUNTERS);
        long limit = config.bytes(AllocatorConfig.LIMIT, 0, 0, Long.MAX_VALUE);
        return new TrackedAllocator(Backends.create(config), tracking, limit);
    }

    /** {@link #open(AllocatorConfig)} with the system properties and environment. */
    public static TrackedAllocator open() {
        return open(AllocatorConfig.fromEnvironment());
    }

    /**
     * Puts the facade in front of a backend the caller created (tests, embedders). The facade owns it
     * from now on and closes it on {@link #close}.
     */
    public static TrackedAllocator wrap(Allocator backend, Tracking tracking, long limit) {
        if (limit < 0) {
            throw new InvalidConfigException(AllocatorConfig.LIMIT + ": '" + limit + "' is negative; use 0 for no limit");
        }
        return new TrackedAllocator(backend, tracking, limit);
    }

    // ---------------------------------------------------------------------------------------------
    // Allocation

    /** {@link #allocate(long, int, long, int)} with 16-byte alignment and the caller as the site. */
    public long allocate(long size, int flags) {
        return allocate(size, flags, Allocator.MIN_ALIGNMENT, SiteTable.NONE);
    }

    /** {@link #allocate(long, int, long, int)} with the caller as the site. */
    public long allocate(long size, int flags, long alignment) {
        return allocate(size, flags, alignment, SiteTable.NONE);
    }

    /**
     * Allocates a block.
     *
     * @param size      bytes; 0 returns 0 and is not an error. Negative values are C sizes above
     *                  {@code Long.MAX_VALUE} and are reported as {@link ErrorCode#SIZE_OVERFLOW}
     * @param flags     {@link MemoryFlags}: {@code CLEAR} zeroes the block, the others are kept
     * @param alignment a power of two up to {@link #MAX_ALIGNMENT}; values below 16 mean 16
     * @param site      a site from {@link #site(String, int)}, or 0 for "the Java caller" (recorded only
     *                  when tracking leaks)
     * @return the block's address, or 0 on failure (counted and reported)
     */
    public long allocate(long size, int flags, long alignment, int site) {
        return allocateIn(null, size, flags, alignment, site);
    }

    private long allocateInHeap(Heap heap, long size, int flags, int site) {
        synchronized (heap) {
            if (heap.destroyed) {
                report(ErrorCode.INVALID_HEAP, "heapAllocate(" + heap.id + "): the heap was destroyed", 0);
                return 0;
            }
            return allocateIn(heap, size, flags, Allocator.MIN_ALIGNMENT, site);
        }
    }

    private long allocateIn(Heap heap, long size, int flags, long alignment, int site) {
        if (closed) {
            return rejectClosed("allocate");
        }
        if (size == 0) {
            return 0;
        }
        int alignLog2 = alignmentLog2(alignment, "allocate");
        if (alignLog2 < 0) {
            failedAllocations.increment();
            return 0;
        }
        long align = 1L << alignLog2;
        long offset = header.offsetFor(align);
        long total = totalFor(size, align, "allocate");
        if (total <= 0) {
            return 0;
        }
        long reserved = reserve(size);
        if (reserved < 0) {
            return failAllocation(size, "allocate", "the budget allocator.limit=" + limit + " has "
                + (limit - liveBytes.get()) + " bytes left");
        }
        Allocator source = heap == null ? backend : heap.allocator;
        long base = backendAllocate(source, total, align);
        if (base == 0) {
            liveBytes.addAndGet(-size);
            return failAllocation(size, "allocate", "backend '" + backend.name() + "' has no memory for it");
        }
        long user = base + offset;
        header.write(user, size, flags, alignLog2, heap == null ? 0 : heap.tag);
        if (sites) {
            header.writeSite(user, site != SiteTable.NONE ? site : callerSite());
        }
        if ((flags & MemoryFlags.CLEAR) != 0) {
            NativeMemory.fill(user, size, (byte) 0);
        } else if (debug) {
            NativeMemory.fill(user, size, BlockHeader.FILL_NEW);
        }
        if (debug) {
            header.writeGuards(user, size);
        }
        if (heap != null) {
            heap.blocks.add(user, LiveBlockSet.NONE);
        }
        blocks.add(user, LiveBlockSet.ALLOCATED);
        raisePeak(reserved);
        return user;
    }

    /**
     * The id of an allocation site for {@link #allocate(long, int, long, int)}. {@code file == null}
     * means a C caller that gave no site.
     */
    public int site(String file, int line) {
        if (file == null) {
            return unknownSite;
        }
        return siteTable.idOf(line > 0 ? file + ":" + line : file);
    }

    // ---------------------------------------------------------------------------------------------
    // Free and reallocate

    /**
     * Frees a block. {@code address == 0} does nothing.
     *
     * @param size the size the block was allocated with, or 0 for "unknown"; a different non-zero size
     *             is reported as {@link ErrorCode#SIZE_MISMATCH} and the recorded size is used
     */
    public void free(long address, long size) {
        if (address == 0) {
            return;
        }
        if (closed) {
            rejectClosed("free");
            return;
        }
        if (!blocks.remove(address, LiveBlockSet.FREED)) {
            rejectPointer(address, "free", false);
            return;
        }
        long word0 = header.word0(address);
        if (!headerIntact(address, word0, LiveBlockSet.FREE_UNDONE)) {
            return;
        }
        long recorded = BlockHeader.sizeOf(word0);
        if (size != 0 && size != recorded) {
            report(ErrorCode.SIZE_MISMATCH, "free(" + hex(address) + ", " + Long.toUnsignedString(size)
                + "): the block was allocated with " + recorded + " bytes; freed it as " + recorded, address);
        }
        release(address, word0);
    }

    /** {@link #reallocate(long, long, long, int)} with no flags. */
    public long reallocate(long address, long oldSize, long newSize) {
        return reallocate(address, oldSize, newSize, 0);
    }

    /**
     * Resizes a block, keeping its first {@code min(old, new)} bytes.
     *
     * <p>{@code address == 0} allocates; {@code newSize == 0} frees and returns 0. On failure returns 0
     * and the old block is intact and still live.
     *
     * @param oldSize the recorded size, or 0 for "unknown" (a different non-zero size is reported)
     * @param flags   {@code CLEAR} zeroes the bytes the block grows by; the block keeps its own flags
     */
    public long reallocate(long address, long oldSize, long newSize, int flags) {
        if (address == 0) {
            return allocate(newSize, flags);
        }
        if (newSize == 0) {
            free(address, oldSize);
            return 0;
        }
        if (closed) {
            return rejectClosed("reallocate");
        }
        if (!blocks.remove(address, LiveBlockSet.NONE)) {
            rejectPointer(address, "reallocate", true);
            return 0;
        }
        long word0 = header.word0(address);
        if (!headerIntact(address, word0, LiveBlockSet.NONE)) {
            return 0;
        }
        long recorded = BlockHeader.sizeOf(word0);
        if (oldSize != 0 && oldSize != recorded) {
            report(ErrorCode.SIZE_MISMATCH, "reallocate(" + hex(address) + ", " + Long.toUnsignedString(oldSize)
                + ", ...): the block was allocated with " + recorded + " bytes; used " + recorded, address);
        }
        long align = 1L << BlockHeader.alignmentLog2Of(word0);
        long newTotal = totalFor(newSize, align, "reallocate");
        if (newTotal <= 0) {
            blocks.add(address, LiveBlockSet.NONE);
            return 0;
        }
        if (debug) {
            checkGuards(address, recorded, "reallocate");
        }
        long grow = newSize - recorded;
        long reserved = grow > 0 ? reserve(grow) : liveBytes.addAndGet(grow);
        if (reserved < 0) {
            blocks.add(address, LiveBlockSet.NONE);
            return failAllocation(newSize, "reallocate", "the budget allocator.limit=" + limit + " has "
                + (limit - liveBytes.get()) + " bytes left");
        }
        int heapTag = header.heap(address);
        Heap heap = heapOfTag(heapTag);
        if (heap == null) {
            return move(address, word0, recorded, newSize, grow, reserved, flags, null, 0);
        }
        synchronized (heap) {
            if (!heap.destroyed) {
                return move(address, word0, recorded, newSize, grow, reserved, flags, heap, heapTag);
            }
            // destroy came between our claim and here: the block goes with its heap
            liveBytes.addAndGet(-grow);
            liveBytes.addAndGet(-recorded);
            blocks.record(address, LiveBlockSet.FREED);
            releasePending(heap);
        }
        report(ErrorCode.INVALID_HEAP, "reallocate(" + hex(address) + "): its heap " + heap.id
            + " was destroyed while the block was being resized; the block is gone with it", address);
        return 0;
    }

    /** The part of {@link #reallocate} after the claim and the budget: the backend's realloc and the bookkeeping. */
    private long move(long address, long word0, long recorded, long newSize, long grow, long reserved, int flags,
                      Heap heap, int heapTag) {
        int alignLog2 = BlockHeader.alignmentLog2Of(word0);
        long align = 1L << alignLog2;
        long offset = header.offsetFor(align);
        long base = address - offset;
        long oldTotal = header.overheadFor(align) + recorded;
        long newTotal = header.overheadFor(align) + newSize;
        int tag = heapTag;
        Allocator source = heap == null ? backend : heap.allocator;
        long moved = backendReallocate(source, base, oldTotal, newTotal, align);
        if (moved == 0) {
            liveBytes.addAndGet(-grow);
            blocks.add(address, LiveBlockSet.NONE);
            return failAllocation(newSize, "reallocate", "backend '" + backend.name() + "' has no memory for it");
        }
        long user = moved + offset;
        int blockFlags = BlockHeader.flagsOf(word0);
        header.write(user, newSize, blockFlags, alignLog2, tag);
        if (grow > 0) {
            if ((flags & MemoryFlags.CLEAR) != 0) {
                NativeMemory.fill(user + recorded, grow, (byte) 0);
            } else if (debug) {
                NativeMemory.fill(user + recorded, grow, BlockHeader.FILL_NEW);
            }
        }
        if (debug) {
            header.writeGuards(user, newSize);
        }
        if (heap != null && user != address) {
            heap.blocks.remove(address, LiveBlockSet.NONE);
            heap.blocks.add(user, LiveBlockSet.NONE);
        }
        blocks.add(user, LiveBlockSet.REALLOCATED);
        if (grow > 0) {
            raisePeak(reserved);
        }
        return user;
    }

    /** The requested size of a live block; 0 for 0 or for an address that is not a live block of ours. */
    public long sizeOf(long address) {
        if (address == 0 || closed) {
            return 0;
        }
        return blocks.readIfLive(address, sizeReader, 0);
    }

    // ---------------------------------------------------------------------------------------------
    // Private heaps

    /**
     * Creates a private heap ({@code HeapCreate}): blocks allocated in it are ordinary blocks for
     * {@link #free}, {@link #reallocate} and the statistics, and {@link #destroyHeap} frees all of them
     * at once. Uses the backend's own heaps when it has them ({@link Allocator#createHeap()}).
     *
     * @return the heap's id (1 to 4096), or 0 when no more heaps can be created (reported)
     */
    public int createHeap() {
        if (closed) {
            return (int) rejectClosed("createHeap");
        }
        Allocator nativeHeap;
        try {
            nativeHeap = backend.createHeap();
        } catch (Throwable t) {
            report(ErrorCode.BACKEND_FAILURE, "backend '" + backend.name() + "' threw creating a heap: " + t, 0);
            return 0;
        }
        int generation = heapGenerations.incrementAndGet() & ((1 << (31 - HEAP_ID_BITS - 1)) - 1);
        for (int id = 1; id <= MAX_HEAPS; id++) {
            if (heaps.get(id) == null) {
                Heap heap = new Heap(id, generation, nativeHeap != null ? nativeHeap : backend, nativeHeap != null);
                if (heaps.compareAndSet(id, null, heap)) {
                    return id;
                }
            }
        }
        if (nativeHeap != null) {
            nativeHeap.close();
        }
        failedAllocations.increment();
        report(ErrorCode.ALLOCATION_FAILED, "createHeap: all " + MAX_HEAPS + " heaps are in use", 0);
        return 0;
    }

    /**
     * Allocates a block in a private heap; as {@link #allocate(long, int, long, int)} otherwise.
     *
     * @return the block, or 0 on failure or for a heap that does not exist ({@link ErrorCode#INVALID_HEAP})
     */
    public long heapAllocate(int heap, long size, int flags, int site) {
        Heap h = heap(heap, "heapAllocate");
        return h == null ? 0 : allocateInHeap(h, size, flags, site);
    }

    /**
     * Frees every block still in a private heap and the heap itself ({@code HeapDestroy}). The blocks
     * count as frees.
     *
     * @return whether the heap existed (an unknown heap is reported as {@link ErrorCode#INVALID_HEAP})
     */
    public boolean destroyHeap(int heap) {
        if (closed) {
            rejectClosed("destroyHeap");
            return false;
        }
        if (heap(heap, "destroyHeap") == null) {
            return false;
        }
        return destroy(heap);
    }

    /**
     * Frees a block of a private heap ({@code HeapFree}). A block of another heap is reported as
     * {@link ErrorCode#INVALID_POINTER} and left alone; otherwise as {@link #free(long, long)}.
     *
     * @return whether a block was freed ({@code address == 0} counts as done)
     */
    public boolean heapFree(int heap, long address) {
        if (address == 0) {
            return true;
        }
        int owner = heapOf(address);
        if (owner >= 0 && owner != heap) {
            report(ErrorCode.INVALID_POINTER, "heapFree(" + heap + ", " + hex(address) + "): the block belongs to "
                + (owner == 0 ? "no heap" : "heap " + owner) + "; nothing was done", address);
            return false;
        }
        free(address, 0);
        return owner >= 0;
    }

    /** Which heap a live block belongs to: its id, 0 for none, or -1 if it is not a live block. */
    public int heapOf(long address) {
        if (address == 0 || closed) {
            return -1;
        }
        int tag = (int) blocks.readIfLive(address, heapReader, -1);
        return tag == -1 ? -1 : tag & ((1 << HEAP_ID_BITS) - 1);
    }

    /** The heap a block's tag names (possibly being destroyed), or null for none. */
    private Heap heapOfTag(int tag) {
        int id = tag & ((1 << HEAP_ID_BITS) - 1);
        if (id == 0) {
            return null;
        }
        Heap heap = heaps.get(id);
        return heap != null && heap.tag == tag ? heap : null;
    }

    /**
     * One of the blocks claimed before its heap's destroy is done with; the last one lets the heap go.
     * Called with the heap's monitor held.
     */
    private void releasePending(Heap heap) {
        if (--heap.pendingReleases == 0) {
            finishDestroy(heap);
        }
    }

    /** Closes a destroyed heap's native allocator and frees its id. Called with its monitor held. */
    private void finishDestroy(Heap heap) {
        if (heap.isNative) {
            try {
                heap.allocator.close();
            } catch (Throwable t) {
                report(ErrorCode.BACKEND_FAILURE, "backend '" + backend.name() + "' threw destroying heap "
                    + heap.id + ": " + t, 0);
            }
        }
        heaps.compareAndSet(heap.id, heap, null);
    }

    private Heap heap(int id, String op) {
        Heap h = id > 0 && id <= MAX_HEAPS ? heaps.get(id) : null;
        if (h == null || h.destroyed) {
            report(ErrorCode.INVALID_HEAP, op + "(" + id + "): no such heap (never created, or destroyed)", 0);
        }
        return h;
    }

    private boolean destroy(int id) {
        Heap heap = heaps.get(id);
        if (heap == null) {
            return false;
        }
        synchronized (heap) {
            if (heap.destroyed) {
                return false;
            }
            heap.destroyed = true;
            destroyLocked(heap);
        }
        return true;
    }

    private void destroyLocked(Heap heap) {
        for (long user : heap.blocks.drain(LiveBlockSet.NONE)) {
            if (!blocks.remove(user, LiveBlockSet.FREED)) {
                // a free or realloc on another thread has claimed it and will come to this heap's
                // monitor: the memory must stay mapped until it has
                heap.pendingReleases++;
                continue;
            }
            long word0 = header.word0(user);
            if (heap.isNative) {
                // the heap's close below returns its memory in one go
                if (debug) {
                    checkGuards(user, BlockHeader.sizeOf(word0), "destroyHeap");
                }
                liveBytes.addAndGet(-BlockHeader.sizeOf(word0));
            } else {
                releaseTo(backend, user, word0);
            }
        }
        if (heap.pendingReleases == 0) {
            finishDestroy(heap);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Statistics

    /** Bytes requested by live blocks. */
    public long liveBytes() {
        return liveBytes.get();
    }

    /** Blocks allocated and not yet freed. */
    public long liveBlocks() {
        // the live set itself, stripe by stripe: while other threads work, off by at most the blocks
        // they are moving at that moment (a difference of two running totals could drift without bound)
        return blocks.size();
    }

    /** The most {@link #liveBytes()} has been. */
    public long peakBytes() {
        return peakBytes.get();
    }

    /** Successful allocations. */
    public long allocations() {
        return blocks.count(LiveBlockSet.ALLOCATED);
    }

    /** Blocks freed. */
    public long frees() {
        return blocks.count(LiveBlockSet.FREED);
    }

    /** Successful reallocations. */
    public long reallocations() {
        return blocks.count(LiveBlockSet.REALLOCATED);
    }

    /** Allocations and reallocations that returned 0 because memory or budget ran out, or the size was bad. */
    public long failedAllocations() {
        return failedAllocations.sum();
    }

    /** Bad calls detected (see {@link ErrorCode#isErrorCode()}). */
    public long callerErrors() {
        return callerErrors.sum();
    }

    /** Every counter at once. */
    public MemoryStats stats() {
        return new MemoryStats(liveBytes.get(), liveBlocks(), peakBytes.get(), allocations(), frees(), reallocations(),
            failedAllocations.sum(), callerErrors.sum(), limit);
    }

    /** The byte budget, or 0 when there is none. */
    public long limit() {
        return limit;
    }

    /**
     * Bytes still available: the budget minus live bytes when {@code allocator.limit} is set, else the
     * memory the operating system reports as available.
     */
    public long ramFree() {
        if (limit > 0) {
            return Math.max(0, limit - liveBytes.get());
        }
        return SystemMemory.available();
    }

    /** The budget when {@code allocator.limit} is set, else the machine's (or container's) total memory. */
    public long ramTotal() {
        return limit > 0 ? limit : SystemMemory.total();
    }

    /** The backend's own figures, prefixed with its name. */
    public Map<String, Long> backendStatistics() {
        Map<String, Long> out = new LinkedHashMap<>();
        backend.statistics().forEach((k, v) -> out.put(backend.name() + "." + k, v));
        return out;
    }

    /** The name of the backend in use. */
    public String backendName() {
        return backend.name();
    }

    /** The tracking mode. */
    public Tracking tracking() {
        return tracking;
    }

    // ---------------------------------------------------------------------------------------------
    // Leaks and guards

    /** Every live block, by address. Sites are recorded only in {@code leaks} and {@code debug} modes. */
    public List<LiveBlock> liveBlockList() {
        List<LiveBlock> out = new ArrayList<>();
        blocks.forEach(user -> {
            long word0 = header.word0(user);
            String site = sites ? siteTable.nameOf(header.site(user))
                : siteTable.nameOf(SiteTable.NONE);
            out.add(new LiveBlock(user, BlockHeader.sizeOf(word0), BlockHeader.flagsOf(word0), site));
        });
        out.sort(Comparator.comparingLong(LiveBlock::address));
        return out;
    }

    /**
     * A readable report of every live block (address, size, flags, site) and the totals, also grouped by
     * site. Blocks still live at shutdown are leaks.
     */
    public String leakReport() {
        List<LiveBlock> live = liveBlockList();
        long bytes = 0;
        Map<String, long[]> bySite = new LinkedHashMap<>();
        StringBuilder out = new StringBuilder();
        out.append("platform-memory leak report (backend ").append(backend.name()).append(", tracking ")
            .append(tracking.name().toLowerCase(java.util.Locale.ROOT)).append(")\n");
        for (LiveBlock b : live) {
            bytes += b.size();
            long[] t = bySite.computeIfAbsent(b.site(), k -> new long[2]);
            t[0]++;
            t[1] += b.size();
            out.append("  ").append(hex(b.address())).append("  ").append(b.size()).append(" bytes  ")
                .append(MemoryFlags.describe(b.flags())).append("  at ").append(b.site()).append('\n');
        }
        if (!live.isEmpty()) {
            out.append("by site:\n");
            bySite.forEach((site, t) -> out.append("  ").append(site).append(": ").append(t[0])
                .append(t[0] == 1 ? " block, " : " blocks, ").append(t[1]).append(" bytes\n"));
        }
        out.append("total: ").append(live.size()).append(live.size() == 1 ? " live block, " : " live blocks, ")
            .append(bytes).append(" bytes\n");
        return out.toString();
    }

    /**
     * Checks the guard bytes of every live block ({@code debug} mode) and reports each damaged one as
     * {@link ErrorCode#GUARD_CORRUPTED}.
     *
     * @return the number of damaged blocks; always 0 outside {@code debug} mode
     */
    public int checkAllGuards() {
        if (!debug) {
            return 0;
        }
        List<long[]> damaged = new ArrayList<>();
        blocks.forEach(user -> {
            long size = header.size(user);
            long front = header.frontDamage(user);
            long back = header.backDamage(user, size);
            if (front >= 0 || back >= 0) {
                damaged.add(new long[] {user, size, front, back});
            }
        });
        for (long[] d : damaged) {
            reportGuard(d[0], d[1], d[2], d[3], "check");
        }
        return damaged.size();
    }

    // ---------------------------------------------------------------------------------------------
    // Errors and lifecycle

    /** Sets the handler told about every error, or removes it with {@code null}. */
    public void setErrorHandler(ErrorHandler handler) {
        this.errorHandler = handler;
    }

    /**
     * Frees every block still live (counted as frees) and closes the backend. Later calls fail with
     * {@link ErrorCode#CLOSED}. Idempotent.
     */
    @Override
    public void close() {
        close(java.time.Duration.ZERO);
    }

    /**
     * As {@link #close()}, but first refuses new calls and gives calls already under way on other threads
     * {@code grace} to finish before their blocks are freed; the backend itself is closed (its memory
     * unmapped) 50 grace periods later, on a daemon thread, so even a call descheduled mid-way does not
     * touch unmapped memory. For a host that cannot stop its threads first (a game's audio thread at
     * exit); blocks those threads still use are freed all the same, as with any allocator shut down.
     */
    public void close(java.time.Duration grace) {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (!grace.isZero()) {
            try {
                Thread.sleep(grace);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (int id = 1; id <= MAX_HEAPS; id++) {
            if (heaps.get(id) != null) {
                destroy(id);
            }
        }
        long[] live = blocks.drain(LiveBlockSet.FREED);
        long bytes = 0;
        for (long user : live) {
            long word0 = header.word0(user);
            bytes += BlockHeader.sizeOf(word0);
            release(user, word0);
        }
        if (live.length > 0) {
            LOG.log(System.Logger.Level.INFO, "platform-memory: closing with {0} live blocks ({1} bytes); freed them",
                live.length, bytes);
        }
        if (grace.isZero()) {
            closeBackend();
        } else {
            // a call that was already under way and was descheduled for longer than the grace may still be
            // about to touch its block: the backend's memory stays mapped a while longer before it goes
            Thread.ofPlatform().daemon(true).name("platform-memory-close").start(() -> {
                try {
                    Thread.sleep(grace.multipliedBy(BACKEND_CLOSE_DELAY));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                closeBackend();
            });
        }
    }

    private void closeBackend() {
        try {
            backend.close();
        } catch (Throwable t) {
            report(ErrorCode.BACKEND_FAILURE, "backend '" + backend.name() + "' failed to close: " + t, 0);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Internals

    /** The bytes to ask the backend for, or 0 after reporting an overflowing or impossible size. */
    private long totalFor(long size, long align, String op) {
        long overhead = header.overheadFor(align);
        if (size < 0 || size > Long.MAX_VALUE - overhead) {
            report(ErrorCode.SIZE_OVERFLOW, op + "(" + Long.toUnsignedString(size) + " bytes): the size"
                + " overflows once the " + overhead + "-byte header is added (is it a negative number or SIZE_MAX?)", 0);
            failedAllocations.increment();
            return 0;
        }
        long total = size + overhead;
        if (total > Allocator.MAX_BLOCK_SIZE) {
            failAllocation(size, op, "it is larger than any address space (" + Allocator.MAX_BLOCK_SIZE + " bytes)");
            return 0;
        }
        return total;
    }

    private int alignmentLog2(long alignment, String op) {
        if (alignment <= Allocator.MIN_ALIGNMENT) {
            if (alignment > 0 && Long.bitCount(alignment) == 1) {
                return 4;
            }
        } else if (Long.bitCount(alignment) == 1 && alignment <= MAX_ALIGNMENT) {
            return Long.numberOfTrailingZeros(alignment);
        }
        report(ErrorCode.BAD_ALIGNMENT, op + ": alignment " + Long.toUnsignedString(alignment)
            + " is not a power of two from 1 to " + MAX_ALIGNMENT, 0);
        return -1;
    }

    /** Adds {@code bytes} to the live total within the budget; returns the new total, or -1. */
    private long reserve(long bytes) {
        if (limit == 0) {
            return liveBytes.addAndGet(bytes);
        }
        long current;
        do {
            current = liveBytes.get();
            if (bytes > limit - current) {
                return -1;
            }
        } while (!liveBytes.compareAndSet(current, current + bytes));
        return current + bytes;
    }

    private void raisePeak(long candidate) {
        long peak;
        while (candidate > (peak = peakBytes.get()) && !peakBytes.compareAndSet(peak, candidate)) {
            Thread.onSpinWait();
        }
    }

    /** Verifies a claimed block's header; a damaged one is reported and the block is kept, not freed. */
    private boolean headerIntact(long user, long word0, int undoEvent) {
        if (header.intact(user, word0)) {
            return true;
        }
        blocks.add(user, undoEvent);
        report(ErrorCode.HEADER_CORRUPTED, "the header before block " + hex(user) + " was overwritten"
            + " (a write before the start of the block?); the block is kept, not freed", user);
        return false;
    }

    /** Gives a claimed block back to the backend and counts it. */
    private void release(long user, long word0) {
        int heapTag = header.heap(user);
        if (heapTag == 0) {
            releaseTo(backend, user, word0);
            return;
        }
        Heap heap = heapOfTag(heapTag);
        if (heap == null) {
            // a heap that no longer exists cannot have been destroyed after our claim (it waits for us):
            // only a damaged tag gets here, and the header check has ruled that out
            releaseTo(backend, user, word0);
            return;
        }
        synchronized (heap) {
            if (!heap.destroyed) {
                heap.blocks.remove(user, LiveBlockSet.NONE);
                releaseTo(heap.allocator, user, word0);
            } else if (heap.isNative) {
                // destroyed after our claim: the heap's close takes the memory back once we are done
                if (debug) {
                    checkGuards(user, BlockHeader.sizeOf(word0), "free");
                }
                liveBytes.addAndGet(-BlockHeader.sizeOf(word0));
                releasePending(heap);
            } else {
                releaseTo(backend, user, word0);
                releasePending(heap);
            }
        }
    }

    /** Gives a claimed block back to {@code source} and counts its bytes. */
    private void releaseTo(Allocator source, long user, long word0) {
        long size = BlockHeader.sizeOf(word0);
        long align = 1L << BlockHeader.alignmentLog2Of(word0);
        long offset = header.offsetFor(align);
        if (debug) {
            checkGuards(user, size, "free");
            header.fillFreed(user, size);
        }
        header.invalidate(user);
        try {
            source.free(user - offset, header.overheadFor(align) + size, align);
        } catch (Throwable t) {
            report(ErrorCode.BACKEND_FAILURE, "backend '" + backend.name() + "' threw while freeing "
                + hex(user) + ": " + t, user);
        }
        liveBytes.addAndGet(-size);
    }

    private void checkGuards(long user, long size, String op) {
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
        report(ErrorCode.GUARD_CORRUPTED, op + ": block " + hex(user) + " (" + size + " bytes): " + where, user);
    }

    private long backendAllocate(Allocator backend, long total, long align) {
        long base;
        try {
            base = backend.allocate(total, align);
        } catch (Throwable t) {
            report(ErrorCode.BACKEND_FAILURE, "backend '" + backend.name() + "' threw allocating " + total
                + " bytes: " + t, 0);
            return 0;
        }
        if (base != 0 && (base < 0 || (base & (align - 1)) != 0)) {
            report(ErrorCode.BACKEND_FAILURE, "backend '" + backend.name() + "' returned " + hex(base)
                + ", which is not aligned to " + align + "; gave it back", base);
            try {
                backend.free(base, total, align);
            } catch (Throwable ignored) {
                // already reported; the block is the backend's problem now
            }
            return 0;
        }
        return base;
    }

    private long backendReallocate(Allocator backend, long base, long oldTotal, long newTotal, long align) {
        long moved;
        try {
            moved = backend.reallocate(base, oldTotal, newTotal, align);
        } catch (Throwable t) {
            report(ErrorCode.BACKEND_FAILURE, "backend '" + backend.name() + "' threw reallocating "
                + hex(base) + " to " + newTotal + " bytes: " + t, base);
            return 0;
        }
        if (moved != 0 && (moved < 0 || (moved & (align - 1)) != 0)) {
            // the old block may be gone already; the new one is unusable: report and lose it rather than corrupt
            report(ErrorCode.BACKEND_FAILURE, "backend '" + backend.name() + "' returned " + hex(moved)
                + " from reallocate, which is not aligned to " + align, moved);
            return 0;
        }
        return moved;
    }

    private long failAllocation(long size, String op, String why) {
        failedAllocations.increment();
        report(ErrorCode.ALLOCATION_FAILED, op + "(" + size + " bytes) failed: " + why, 0);
        return 0;
    }

    private long rejectClosed(String op) {
        report(ErrorCode.CLOSED, op + ": the allocator is closed", 0);
        return 0;
    }

    /** Explains why {@code address} is not a live block: freed already, inside another block, or foreign. */
    private void rejectPointer(long address, String op, boolean realloc) {
        // inside a live block first: a stale pointer whose memory now belongs to another block is
        // reported as pointing into that block, whatever it was before
        long[] owner = {0, 0};
        blocks.forEach(user -> {
            long size = header.size(user);
            if (address > user && address < user + size) {
                owner[0] = user;
                owner[1] = size;
            }
        });
        boolean freedBefore = blocks.recentlyRemoved(address);
        if (owner[0] != 0) {
            report(ErrorCode.INTERIOR_POINTER, op + "(" + hex(address) + "): points " + (address - owner[0])
                + " bytes into the live block " + hex(owner[0]) + " (" + owner[1] + " bytes), not at its start"
                + (freedBefore ? " (a block freed earlier began there)" : "") + "; nothing was done", address);
        } else if (freedBefore) {
            ErrorCode error = realloc ? ErrorCode.REALLOC_FREED : ErrorCode.DOUBLE_FREE;
            report(error, op + "(" + hex(address) + "): the block was already freed; nothing was done", address);
        } else {
            report(ErrorCode.INVALID_POINTER, op + "(" + hex(address)
                + "): not a block this allocator handed out (or freed long ago); nothing was done", address);
        }
    }

    private void report(ErrorCode error, String message, long address) {
        if (error.isErrorCode()) {
            callerErrors.increment();
        }
        System.Logger.Level level = error.isErrorCode() || error == ErrorCode.BACKEND_FAILURE
            ? System.Logger.Level.WARNING : System.Logger.Level.INFO;
        String text = "platform-memory " + error + ": " + message;
        LOG.log(level, text);
        ErrorHandler handler = errorHandler;
        if (handler != null) {
            try {
                handler.onError(error, message, address);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.WARNING, "platform-memory: the error handler threw " + t);
            }
        }
    }

    private int callerSite() {
        String frame = StackWalker.getInstance().walk(frames -> frames
            .filter(f -> !f.getClassName().equals(TrackedAllocator.class.getName()))
            .findFirst()
            .map(f -> f.getClassName() + "." + f.getMethodName() + "(" + f.getFileName() + ":" + f.getLineNumber() + ")")
            .orElse(null));
        return frame == null ? SiteTable.NONE : siteTable.idOf(frame);
    }

    private static String hex(long address) {
        return "0x" + HexFormat.of().toHexDigits(address).replaceFirst("^0{1,12}", "");
    }
}
