package org.platformmemory.arena;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.platformmemory.api.kit.AddressIndex;
import org.platformmemory.api.kit.Pages;
import org.platformmemory.api.kit.ReadyPool;
import org.platformmemory.api.kit.SizeClasses;
import org.platformmemory.api.kit.ThreadStacks;

import static org.platformmemory.arena.Chunk.PAGE;
import static org.platformmemory.arena.Chunk.PAGE_SHIFT;

/**
 * The chunks of one allocator (or one private heap) and the size-class bins carved from them.
 *
 * <ul>
 *   <li>Small blocks come from the {@link SizeClassBin}s, which carve slabs out of chunk pages.</li>
 *   <li>Medium blocks (above the largest size class, 32 KiB, up to a chunk, alignment up to a page) are
 *       runs of whole pages, first fit over the chunks.</li>
 *   <li>Huge blocks (larger than a chunk, or aligned beyond a page) get a chunk and an arena of their
 *       own; when the block is freed the chunk is kept as a spare for the next huge block it fits, up to
 *       {@code retainHuge} bytes of spares ({@link HugeSpares}), and closed beyond that.</li>
 * </ul>
 *
 * <p>A chunk whose pages are all free again is kept while at most {@code retainChunks} empty chunks are
 * kept, and released (unmapped) beyond that, so a frame loop reuses chunks instead of mapping and
 * unmapping one each frame. A new chunk is a fresh mapping: its pages fault in as its blocks are first
 * written, as with the C heap. With {@code readyChunks} above 0 (the allocator's own heap, not private
 * heaps) new chunks come from a {@link ReadyPool} instead, mapped and touched by its thread ahead of need,
 * so a thread that needs a new chunk does not take its page faults (13 ms for 4 MiB on the benchmark
 * machine) but the ready chunks are resident before any block uses them; a chunk released beyond
 * {@code retainChunks} goes back to the pool when it holds fewer than it keeps ready.
 *
 * <p>Thread-safe: one lock guards the chunks' page maps; the chunk index is published copy-on-write so
 * {@link #chunkOf} takes no lock. As the {@link ThreadStacks.Backing} of the thread caches, it trades
 * small blocks with the bins in batches.
 */
final class PageHeap implements ThreadStacks.Backing {

    /** The small size classes: 40, from 16 bytes to 32 KiB. */
    static final SizeClasses CLASSES = SizeClasses.DEFAULT;
    /** The largest small request; anything above is carved in whole pages. */
    static final int SMALL_MAX = CLASSES.largest();

    private final long chunkSize;
    private final int retainChunks;
    private final ReadyPool<Chunk> ready;
    private final HugeSpares spares;
    private final SizeClassBin[] bins = new SizeClassBin[CLASSES.count()];
    private final Object lock = new Object();

    // guarded by lock
    private final List<Chunk> chunks = new ArrayList<>();
    private int emptyChunks;
    private long chunksOpened;
    private long chunksReleased;
    private long hugeBlocks;
    private long hugeBytes;
    private long slabs;
    private boolean closed;

    // every live chunk (huge ones too), sorted by base address; replaced, never changed
    private volatile AddressIndex<Chunk> index = AddressIndex.empty();

    /**
     * @param readyChunks chunks kept ready by a thread of their own, 0 for none
     * @param retainHuge  bytes of freed huge chunks kept for reuse, 0 for none
     */
    PageHeap(long chunkSize, int retainChunks, int readyChunks, long retainHuge) {
        this.chunkSize = chunkSize;
        this.retainChunks = retainChunks;
        this.spares = new HugeSpares(retainHuge);
        // the maker refers to the size, not to this heap: a heap dropped without close can still be collected
        long size = chunkSize;
        this.ready = readyChunks == 0 ? null
            : new ReadyPool<>("platform-memory-chunks", readyChunks, () -> touched(Chunk.carve(size)), Chunk::release);
        for (int c = 0; c < bins.length; c++) {
            bins[c] = new SizeClassBin(c, this);
        }
    }

    // a chunk made ahead with its pages faulted in, on the pool's thread
    private static Chunk touched(Chunk chunk) {
        if (chunk != null) {
            Pages.touch(chunk.base, chunk.size);
        }
        return chunk;
    }

    SizeClassBin bin(int sizeClass) {
        return bins[sizeClass];
    }

    @Override
    public int take(int sizeClass, long[] into, int at, int max) {
        return bins[sizeClass].take(into, at, max);
    }

    @Override
    public void give(int sizeClass, long[] from, int at, int count) {
        bins[sizeClass].give(from, at, count);
    }

    /** A block of more than {@link #SMALL_MAX} bytes (or a small one aligned beyond a page), or 0. */
    long allocateLarge(long size, long alignment) {
        if (alignment <= PAGE && size <= chunkSize) {
            return allocateRun(pagesFor(size));
        }
        return allocateHuge(size, alignment, false);
    }

    /**
     * As {@link #allocateLarge}, a block whose bytes all read as zero: a huge block from a fresh mapping
     * (or a spare whose pages go back to the system first) is not written at all; a run of pages is zeroed
     * ({@link Pages#zero}).
     */
    long allocateLargeZeroed(long size, long alignment) {
        if (alignment <= PAGE && size <= chunkSize) {
            return Pages.zeroed(allocateRun(pagesFor(size)), size);
        }
        return allocateHuge(size, alignment, true);
    }

    /** Frees a block {@link #allocateLarge} returned for the same size and alignment. */
    void freeLarge(long address, long size, long alignment) {
        Chunk chunk = chunkOf(address);
        synchronized (lock) {
            if (alignment <= PAGE && size <= chunkSize) {
                chunk.givePages(chunk.pageOf(address), pagesFor(size));
                afterRelease(chunk);
            } else {
                unindex(chunk);
                hugeBlocks--;
                hugeBytes -= chunk.size;
                if (closed) {
                    chunk.release();
                    chunksReleased++;
                } else {
                    chunksReleased += spares.keep(chunk);
                }
            }
        }
    }

    /** Whether a large block of {@code oldSize} can keep its place when it becomes {@code newSize}. */
    boolean sameRun(long oldSize, long newSize, long alignment) {
        return alignment <= PAGE && oldSize <= chunkSize && newSize <= chunkSize
            && newSize > SMALL_MAX && pagesFor(oldSize) == pagesFor(newSize);
    }

    private static int pagesFor(long size) {
        return (int) ((size + PAGE - 1) >>> PAGE_SHIFT);
    }

    private long allocateRun(int pages) {
        synchronized (lock) {
            Chunk chunk = bestChunkFor(pages);
            if (chunk == null) {
                return 0;
            }
            if (chunk.usedPages() == 0) {
                emptyChunks--;
            }
            return chunk.addressOf(chunk.takeBestPages(pages));
        }
    }

    private long allocateHuge(long size, long alignment, boolean zeroed) {
        long bytes = (size + PAGE - 1) & -(long) PAGE; // whole pages, as they are mapped
        long align = Math.max(alignment, PAGE);
        Chunk spare;
        synchronized (lock) {
            spare = closed ? null : spares.take(bytes, align);
        }
        if (spare != null) {
            if (zeroed && !spare.fresh) {
                spare.discard(); // outside the lock: giving 512 MiB back takes milliseconds
            }
            synchronized (lock) {
                if (!closed) {
                    return hugeBlock(spare);
                }
            }
            spare.release();
            return 0;
        }
        Chunk chunk = Chunk.single(bytes, align);
        if (chunk == null) {
            return 0;
        }
        synchronized (lock) {
            if (closed) {
                chunk.release();
                return 0;
            }
            chunksOpened++;
            return hugeBlock(chunk);
        }
    }

    // under the lock
    private long hugeBlock(Chunk chunk) {
        chunk.fresh = false;
        hugeBlocks++;
        hugeBytes += chunk.size;
        index(chunk);
        return chunk.base;
    }

    /** A new slab of {@code pages} pages for {@code sizeClass}, or {@code null} when memory is out. */
    Slab newSlab(int sizeClass, int pages) {
        synchronized (lock) {
            Chunk chunk = chunkWith(pages, true);
            if (chunk == null) {
                return null;
            }
            int first = takePages(chunk, pages);
            Slab slab = new Slab(chunk, first, pages, sizeClass);
            chunk.ownPages(slab, first, pages);
            slabs++;
            return slab;
        }
    }

    /** Returns the pages of a slab whose blocks are all free. */
    void releaseSlab(Slab slab) {
        synchronized (lock) {
            Chunk chunk = slab.chunk;
            chunk.ownPages(null, slab.firstPage, slab.pages);
            chunk.givePages(slab.firstPage, slab.pages);
            slabs--;
            afterRelease(chunk);
        }
    }

    /** The chunk holding {@code address}, which must lie in a live chunk of this heap. */
    Chunk chunkOf(long address) {
        return index.floor(address);
    }

    /**
     * Releases the empty slabs the bins keep, then every empty chunk and every spare huge chunk; the free
     * pages of the chunks still in use go back to the system as pages.
     */
    void trim() {
        for (SizeClassBin bin : bins) {
            bin.trim();
        }
        synchronized (lock) {
            chunksReleased += spares.clear();
            for (int i = chunks.size() - 1; i >= 0; i--) {
                Chunk chunk = chunks.get(i);
                if (chunk.usedPages() == 0) {
                    release(chunk);
                } else {
                    chunk.discardFreePages();
                }
            }
        }
        if (ready != null) {
            ready.clear();
        }
    }

    /** Closes every arena: every block of this heap is gone at once. */
    void close() {
        if (ready != null) {
            ready.close();
        }
        synchronized (lock) {
            closed = true;
            spares.clear();
            AddressIndex<Chunk> all = index;
            for (int i = 0; i < all.size(); i++) {
                all.get(i).release();
            }
            chunks.clear();
            index = AddressIndex.empty();
            emptyChunks = 0;
            slabs = 0;
            hugeBlocks = 0;
            hugeBytes = 0;
        }
        for (SizeClassBin bin : bins) {
            bin.forget();
        }
    }

    /** Bytes mapped: live chunks, huge blocks, spare huge chunks, chunks made ahead. */
    long mappedBytes() {
        synchronized (lock) {
            return chunks.size() * chunkSize + hugeBytes + spares.bytes() + (ready == null ? 0 : ready.ready() * chunkSize);
        }
    }

    /** Of {@link #mappedBytes}, the bytes resident now (mincore over each mapping), or -1 if the system cannot say. */
    long residentBytes() {
        synchronized (lock) {
            long total = ready == null ? 0 : ready.ready() * chunkSize; // made ahead: written through
            AddressIndex<Chunk> all = index;
            for (int i = 0; i < all.size(); i++) {
                long r = all.get(i).resident();
                if (r < 0) {
                    return -1;
                }
                total += r;
            }
            long spare = spares.resident();
            return spare < 0 ? -1 : total + spare;
        }
    }

    Map<String, Long> statistics() {
        synchronized (lock) {
            Map<String, Long> figures = new LinkedHashMap<>();
            figures.put("chunkSize", chunkSize);
            figures.put("chunks", (long) chunks.size());
            figures.put("chunkBytes", chunks.size() * chunkSize);
            figures.put("emptyChunks", (long) emptyChunks);
            figures.put("slabs", slabs);
            figures.put("hugeBlocks", hugeBlocks);
            figures.put("hugeBytes", hugeBytes);
            figures.put("spareHugeChunks", (long) spares.count());
            figures.put("spareHugeBytes", spares.bytes());
            figures.put("hugeReused", spares.reused());
            figures.put("chunksOpened", chunksOpened);
            figures.put("chunksReleased", chunksReleased);
            if (ready != null) {
                long[] counts = ready.counts();
                figures.put("readyChunks", (long) ready.ready());
                figures.put("readyChunksTaken", counts[1]);
                figures.put("readyChunksMissed", counts[2]);
            }
            long usedPages = 0;
            for (Chunk chunk : chunks) {
                usedPages += chunk.usedPages();
            }
            figures.put("usedPageBytes", usedPages << PAGE_SHIFT);
            return figures;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Under the lock

    // the run chunk whose smallest fitting hole is smallest (best fit over all run chunks: page runs
    // are large and rarer than small blocks, and best fit keeps their holes from splintering), else an
    // empty or new chunk
    private Chunk bestChunkFor(int pages) {
        Chunk best = null;
        int bestHole = Integer.MAX_VALUE;
        for (int i = 0; i < chunks.size(); i++) {
            Chunk chunk = chunks.get(i);
            if (chunk.forSlabs || chunk.usedPages() == 0 || chunk.freePages() < pages) {
                continue;
            }
            int start = chunk.findBestRun(pages);
            if (start >= 0) {
                int hole = holeAt(chunk, start);
                if (hole < bestHole) {
                    best = chunk;
                    bestHole = hole;
                    if (hole == pages) {
                        break;
                    }
                }
            }
        }
        return best != null ? best : chunkWith(pages, false);
    }

    private static int holeAt(Chunk chunk, int start) {
        return chunk.freeRunAt(start);
    }

    // a chunk with a run of that many free pages: first fit over the chunks in use for the same kind
    // of block (slabs and page runs live in separate chunks, so small slabs do not split the holes
    // that large runs leave), so that empty chunks stay empty and can be released; then an empty one
    // (of either kind); a new one last
    private Chunk chunkWith(int pages, boolean forSlabs) {
        if (closed) {
            return null;
        }
        Chunk empty = null;
        for (int i = 0; i < chunks.size(); i++) {
            Chunk chunk = chunks.get(i);
            if (chunk.freePages() < pages) {
                continue;
            }
            if (chunk.usedPages() == 0) {
                empty = empty == null ? chunk : empty;
            } else if (chunk.forSlabs == forSlabs && chunk.findRun(pages) >= 0) {
                return chunk;
            }
        }
        if (empty != null) {
            empty.forSlabs = forSlabs;
            return empty;
        }
        Chunk chunk = ready != null ? ready.poll() : null;
        if (chunk == null) {
            chunk = Chunk.carve(chunkSize);
        }
        if (chunk == null) {
            return null;
        }
        chunk.forSlabs = forSlabs;
        chunksOpened++;
        chunks.add(chunk);
        emptyChunks++;
        index(chunk);
        return chunk;
    }

    private int takePages(Chunk chunk, int pages) {
        if (chunk.usedPages() == 0) {
            emptyChunks--;
        }
        return chunk.takePages(pages);
    }

    private void afterRelease(Chunk chunk) {
        if (chunk.usedPages() == 0 && !closed) {
            emptyChunks++;
            if (emptyChunks > retainChunks) {
                release(chunk);
            }
        }
    }

    private void release(Chunk chunk) {
        chunks.remove(chunk);
        emptyChunks--;
        chunksReleased++;
        unindex(chunk);
        if (ready == null || !ready.offer(chunk)) {
            chunk.release();
        }
    }

    private void index(Chunk chunk) {
        index = index.with(chunk.base, chunk);
    }

    private void unindex(Chunk chunk) {
        index = index.without(chunk);
    }
}
