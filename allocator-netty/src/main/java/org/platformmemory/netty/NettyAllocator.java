package org.platformmemory.netty;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PoolArenaMetric;
import io.netty.buffer.PoolChunkListMetric;
import io.netty.buffer.PoolChunkMetric;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocatorMetric;

import org.platformmemory.api.Allocator;
import org.platformmemory.api.kit.NativeMemory;
import org.platformmemory.api.kit.Pages;
import org.platformmemory.api.kit.SizeClasses;

/**
 * A backend whose blocks are pooled direct buffers of a private Netty {@link PooledByteBufAllocator}:
 * Netty's arenas, size classes and thread caches, serving C callers. Freed blocks up to 32 KiB are kept
 * per thread and size class in front of Netty ({@link BufferSlots}), because Netty allocates a Java
 * object per buffer on threads that are not its own.
 *
 * <p>Each block is {@code [padding][user bytes][trailer]} inside one buffer. The 8-byte trailer, at the
 * first 8-byte boundary after the user bytes, names the {@link BufferSlots} slot that keeps the buffer
 * referenced until it is freed; since {@link #free} gets the exact size back, it finds the trailer, and
 * so the buffer, in O(1) without a map or a lock. The trailer also carries a check word, so a block
 * whose trailer was overwritten is counted and left alone rather than releasing the wrong buffer.
 *
 * <p>Addresses are aligned to the alignment asked for (at least 16 bytes). Netty's pooled offsets are
 * multiples of 16 from a {@code malloc}ed chunk base, so normally no padding is needed; when a buffer
 * does not start aligned the block is taken again with room to align it, which needs no
 * {@code directMemoryCacheAlignment} and therefore no JVM flag.
 *
 * <p>Blocks larger than a chunk are not pooled by Netty: each gets a chunk of its own, allocated and
 * freed with the block. They are counted ({@code hugeAllocations}, {@code liveHugeBlocks},
 * {@code liveHugeBytes}). A block that does not fit a {@link ByteBuf} (2 GiB) cannot be served: the
 * allocation returns 0 and is counted as {@code refusedTooLarge}.
 *
 * <p>Netty's leak detector never sees a block the C side holds as leaked: every buffer stays strongly
 * referenced from its slot until {@link #free}, and {@link #close} releases any still held. Leaks are
 * the facade's to report.
 *
 * <p>Thread-safe; a block may be freed on any thread. Never throws from allocate, free or reallocate.
 */
public final class NettyAllocator implements Allocator {

    /** The classes of cached buffers: a buffer taken for a class has exactly the class's capacity. */
    static final SizeClasses CLASSES = SizeClasses.DEFAULT;
    /** The largest capacity a cached buffer has: Netty's own limit for thread-cached buffers. */
    private static final int CACHED_MAX = CLASSES.largest();
    private static final int TRAILER = 8;
    /** Mixed into the trailer's check word so that zeroed or stale memory does not pass for a trailer. */
    private static final int CHECK = 0x4E455454; // "NETT"
    /** Room a block needs beyond its user bytes at 16-byte alignment: the trailer and its own alignment. */
    private static final long OVERHEAD = TRAILER + 7;
    /**
     * A trim runs once at least this many bytes (or 4 chunks, if more) went back to Netty since the last,
     * net of what was taken from it again.
     */
    static final long TRIM_AFTER = 32L << 20;

    private final NettySettings settings;
    private final PooledByteBufAllocator netty;
    private final BufferSlots slots;
    private final int chunkSize;
    private final boolean caching;

    private final LongAdder hugeAllocations = new LongAdder();
    private final LongAdder liveHugeBlocks = new LongAdder();
    private final LongAdder liveHugeBytes = new LongAdder();
    private final LongAdder refusedTooLarge = new LongAdder();
    private final LongAdder failedAllocations = new LongAdder();
    private final LongAdder realigned = new LongAdder();
    private final LongAdder corruptTrailers = new LongAdder();
    /**
     * Bytes given back to Netty since the last trim, less what was taken from it since (never below 0): how
     * far the memory held from Netty fell from its high point. A trim runs when it reaches {@link #trimAfter};
     * a loop that frees blocks and takes as much again never trims (counting only the frees, a loop of 1 MiB
     * pairs trimmed every 32 pairs: a thread started, malloc_trim, and the pages faulted in again).
     */
    private final AtomicLong releasedSinceTrim = new AtomicLong();
    private final long trimAfter;
    private final LongAdder trims = new LongAdder();

    /** Creates a backend on the module's private Netty pool for {@code settings}. */
    public NettyAllocator(NettySettings settings) {
        this.settings = settings;
        this.netty = NettyPools.of(settings);
        this.chunkSize = netty.chunkSize();
        this.slots = new BufferSlots(settings.blockCacheSize(), this::noteReleased);
        this.caching = settings.blockCacheSize() > 0;
        this.trimAfter = Math.max(TRIM_AFTER, 4L * chunkSize);
    }

    @Override
    public String name() {
        return NettyAllocatorProvider.NAME;
    }

    /** The Netty allocator behind this backend, for benchmarks and tests; callers must not free its blocks. */
    public PooledByteBufAllocator netty() {
        return netty;
    }

    @Override
    public long allocate(long size, long alignment) {
        if (size > Integer.MAX_VALUE - OVERHEAD - alignment) {
            refusedTooLarge.increment();
            return 0;
        }
        int capacity = (int) (((size + 7) & ~7L) + TRAILER);
        if (caching && capacity <= CACHED_MAX && alignment == MIN_ALIGNMENT) {
            int sizeClass = CLASSES.classOf(capacity);
            int slot = slots.takeCached(sizeClass);
            if (slot >= 0) {
                // cached buffers start 16-byte aligned, and the class's capacity holds this block
                long base = slots.get(slot).memoryAddress();
                writeTrailer(base, size, slot);
                return base;
            }
            capacity = CLASSES.size(sizeClass);
        }
        if (capacity > chunkSize && alignment > MIN_ALIGNMENT) {
            // a huge buffer is the C heap's, 16-byte aligned: take it with room to align at once, rather
            // than holding two huge buffers for a moment
            return allocateRealigned(null, size, alignment);
        }
        ByteBuf buffer = take(capacity);
        if (buffer == null) {
            return 0;
        }
        long base = buffer.memoryAddress();
        if ((base & (alignment - 1)) != 0) {
            return allocateRealigned(buffer, size, alignment);
        }
        return place(buffer, base, size);
    }

    /** Zeroed by {@link Pages#zero}: a large block's pages go back to the system instead of being written. */
    @Override
    public long allocateZeroed(long size, long alignment) {
        return Pages.zeroed(allocate(size, alignment), size);
    }

    @Override
    public void free(long address, long size, long alignment) {
        long trailer = (address + size + 7) & ~7L;
        long word = NativeMemory.getLong(trailer);
        int slot = (int) (word >>> 32);
        ByteBuf buffer = ((int) word ^ CHECK) == slot ? slots.get(slot) : null;
        if (buffer == null || !holds(buffer, address, trailer)) {
            corruptTrailers.increment();
            return;
        }
        int capacity = buffer.capacity();
        if (caching && capacity <= CACHED_MAX && address == buffer.memoryAddress()) {
            int sizeClass = CLASSES.classOfExactly(capacity);
            if (sizeClass >= 0) {
                slots.cache(slot, sizeClass); // a full stack gives its older half back to Netty first
                return;
            }
        }
        slots.remove(slot);
        if (capacity > chunkSize) {
            countHugeFree(capacity);
        }
        buffer.release();
        if (releasedSinceTrim.addAndGet(capacity) >= trimAfter) {
            trimSoon();
        }
    }

    /**
     * The thread whose free crossed the threshold gives the cached buffers back (one thread at a time; the
     * others go on); the C library's trim, which can take milliseconds, runs on a background thread so no
     * game thread waits for it.
     */
    private void trimSoon() {
        long released = releasedSinceTrim.get();
        if (released >= trimAfter && releasedSinceTrim.compareAndSet(released, 0)) {
            trims.increment();
            slots.trim();
            netty.trimCurrentThreadCache();
            ResidentMemory.trimInBackground();
        }
    }

    /**
     * Gives back what the freed blocks left resident: the cached buffers (this thread's now, other threads'
     * when one of their cache's stacks next runs empty or full), so that Netty can free chunks left empty, and then the C library's free memory
     * to the system ({@link ResidentMemory#trim}), since a freed chunk stays in glibc's heap otherwise.
     * Runs by itself once {@link #TRIM_AFTER} bytes (or 4 chunks) went back to Netty since the last trim,
     * net of what was taken again;
     * public for a caller that knows it just freed a lot (a level unloaded). What Netty itself keeps cannot
     * be given back: see docs/memory.md ("netty and resident memory").
     */
    /** The direct memory Netty's arenas hold: their chunks and their huge buffers. */
    @Override
    public long mappedBytes() {
        return netty.metric().usedDirectMemory();
    }

    @Override
    public void trim() {
        trims.increment();
        slots.trim();
        netty.trimCurrentThreadCache();
        ResidentMemory.trim();
    }

    private static void writeTrailer(long user, long size, int slot) {
        long trailer = (user + size + 7) & ~7L;
        NativeMemory.putLong(trailer, ((long) slot << 32) | ((slot ^ CHECK) & 0xFFFF_FFFFL));
    }

    /** Records a block's slot in its trailer and returns the block's address, or 0 when no slot is left. */
    private long place(ByteBuf buffer, long user, long size) {
        int slot = slots.put(buffer);
        if (slot < 0) {
            buffer.release();
            failedAllocations.increment();
            return 0;
        }
        writeTrailer(user, size, slot);
        if (buffer.capacity() > chunkSize) {
            countHugeAllocation(buffer.capacity());
        }
        return user;
    }

    /** A pooled direct buffer of exactly {@code capacity} bytes, or {@code null} if Netty has no memory. */
    private ByteBuf take(int capacity) {
        try {
            ByteBuf buffer = netty.directBuffer(capacity, capacity);
            if (releasedSinceTrim.get() != 0) {
                releasedSinceTrim.accumulateAndGet(capacity, NettyAllocator::lessTaken);
            }
            return buffer;
        } catch (OutOfMemoryError | RuntimeException e) {
            failedAllocations.increment();
            return null;
        }
    }

    /** Counts a cached buffer the slots gave back to Netty (a full stack's older half, a flush, an ended thread's cache). */
    private void noteReleased(int capacity) {
        releasedSinceTrim.addAndGet(capacity);
    }

    private static long lessTaken(long released, long taken) {
        return Math.max(0, released - taken);
    }

    /**
     * The slow path for a buffer that does not start aligned ({@code misaligned}, released here; or
     * {@code null}): take one with room to align inside it.
     */
    private long allocateRealigned(ByteBuf misaligned, long size, long alignment) {
        ByteBuf buffer = take((int) (((size + 7) & ~7L) + TRAILER + alignment - 1));
        if (misaligned != null) {
            misaligned.release();
        }
        if (buffer == null) {
            return 0;
        }
        realigned.increment();
        long user = (buffer.memoryAddress() + alignment - 1) & -alignment;
        return place(buffer, user, size);
    }

    /** Whether {@code [address, trailer + 8)} lies inside {@code buffer}. */
    private static boolean holds(ByteBuf buffer, long address, long trailer) {
        long base = buffer.memoryAddress();
        // the trailer must follow the block: a wrong size below the block's own could otherwise find the
        // trailer of the buffer just before it, and that buffer holds the address too
        return address >= base && trailer >= address && trailer + TRAILER <= base + buffer.capacity();
    }

    private void countHugeAllocation(int capacity) {
        hugeAllocations.increment();
        liveHugeBlocks.increment();
        liveHugeBytes.add(capacity);
    }

    private void countHugeFree(int capacity) {
        liveHugeBlocks.decrement();
        liveHugeBytes.add(-capacity);
    }

    /**
     * Netty's own figures ({@link PooledByteBufAllocatorMetric}: arenas, chunks, used memory, thread
     * caches, allocation counts by size class) next to this backend's (huge blocks, refusals, slots,
     * buffers held for the C side). {@code arenaActiveAllocations} includes blocks parked in thread caches.
     */
    @Override
    public Map<String, Long> statistics() {
        PooledByteBufAllocatorMetric metric = netty.metric();
        Map<String, Long> out = new LinkedHashMap<>();
        out.put("arenas", (long) metric.numDirectArenas());
        out.put("threadCaches", (long) metric.numThreadLocalCaches());
        out.put("chunkSize", (long) metric.chunkSize());
        out.put("pageSize", (long) settings.pageSize());
        out.put("usedDirectMemory", metric.usedDirectMemory());
        out.put("pinnedDirectMemory", netty.pinnedDirectMemory());
        long chunks = 0;
        long chunkFreeBytes = 0;
        long allocations = 0;
        long active = 0;
        long activeBytes = 0;
        long nettyHuge = 0;
        for (PoolArenaMetric arena : metric.directArenas()) {
            for (PoolChunkListMetric list : arena.chunkLists()) {
                for (PoolChunkMetric chunk : list) {
                    chunks++;
                    chunkFreeBytes += chunk.freeBytes();
                }
            }
            allocations += arena.numAllocations();
            active += arena.numActiveAllocations();
            activeBytes += arena.numActiveBytes();
            nettyHuge += arena.numHugeAllocations();
        }
        out.put("chunks", chunks);
        out.put("chunkFreeBytes", chunkFreeBytes);
        out.put("arenaAllocations", allocations);
        out.put("arenaActiveAllocations", active);
        out.put("arenaActiveBytes", activeBytes);
        out.put("arenaHugeAllocations", nettyHuge);
        out.put("hugeAllocations", hugeAllocations.sum());
        out.put("liveHugeBlocks", liveHugeBlocks.sum());
        out.put("liveHugeBytes", liveHugeBytes.sum());
        out.put("refusedTooLarge", refusedTooLarge.sum());
        out.put("failedAllocations", failedAllocations.sum());
        out.put("realigned", realigned.sum());
        out.put("corruptTrailers", corruptTrailers.sum());
        out.put("trims", trims.sum());
        out.put("slots", (long) slots.capacity());
        long cached = slots.cached();
        out.put("cachedBuffers", cached);
        out.put("heldBuffers", slots.held() - cached);
        return out;
    }

    /**
     * Releases every buffer still held (normally none: the facade frees its blocks first) and every
     * buffer in this backend's per-thread caches, and trims this thread's Netty cache. The Netty pool
     * itself stays for the next backend with the same settings (see {@link NettyPools}).
     */
    @Override
    public void close() {
        slots.drain();
        netty.trimCurrentThreadCache();
    }

    @Override
    public String toString() {
        return "netty backend " + settings;
    }
}
