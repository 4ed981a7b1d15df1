package org.platformmemory.agrona;

import java.util.LinkedHashMap;
import java.util.Map;

import org.platformmemory.api.Allocator;
import org.platformmemory.api.kit.CHeap;
import org.platformmemory.api.kit.Pages;
import org.platformmemory.api.kit.SizeClasses;
import org.platformmemory.api.kit.ThreadStacks;

/**
 * The {@code agrona} backend: a slab allocator. Blocks up to the largest size class take a slot of
 * their class's slabs (page-aligned off-heap buffers cut into equal slots); larger blocks, and blocks
 * aligned beyond a page, get an aligned buffer of their own.
 *
 * <p>Each thread allocates from and frees into its own magazine of free slots per class (a
 * {@link ThreadStacks}): no lock, no shared atomic, no Java-heap allocation. Magazines refill from and
 * spill to the slabs' free stacks in batches, each slot to its own slab (a push is one CAS; pops of one
 * slab take turns on its monitor, which keeps the stack free of ABA, see {@link Slab}). Any thread may free
 * any block; the slot goes home to its slab when that thread's magazine spills, is flushed or its thread
 * ends (retired when a new thread arrives, every 256 refills, on {@link #reclaim} and before a class
 * makes a new slab). Each thread also tallies the bytes requested for live blocks per class, for the
 * rounding waste in {@link #statistics}. Empty slabs are given back after
 * the reclaim delay (see {@link SlabSettings}); a slot cached in a live thread's magazine keeps its slab.
 * Failure is reported by returning 0, never by throwing.
 *
 * <pre>{@code
 * Allocator slabs = new AgronaAllocatorProvider().create(AllocatorConfig.parse("allocator.agrona.slabSize=1m"));
 * long p = slabs.allocate(80, Allocator.MIN_ALIGNMENT);
 * slabs.free(p, 80, Allocator.MIN_ALIGNMENT);
 * }</pre>
 */
public final class SlabAllocator implements Allocator {

    private final SlabSettings settings;
    private final SizeClasses sizes;
    private final SizeClass[] classes;
    private final LargeBlocks large;
    private final MemoryBudget budget;
    private final ThreadStacks magazines;

    /** A class's magazine holds at most about this many bytes (and at least one slot). */
    static final int MAX_MAGAZINE_BYTES = 64 << 10;

    SlabAllocator(SlabSettings settings) {
        this.settings = settings;
        this.sizes = new SizeClasses(settings.maxClass(), settings.classesPerDoubling());
        this.budget = new MemoryBudget(settings.limit());
        this.classes = new SizeClass[sizes.count()];
        for (int i = 0; i < classes.length; i++) {
            classes[i] = new SizeClass(sizes.size(i), settings, budget, this);
        }
        this.large = new LargeBlocks(budget);
        // magazineSize 0: no magazines, every block goes straight to its slab
        this.magazines = new ThreadStacks(sizes.stackCapacities(1, settings.magazineSize(), MAX_MAGAZINE_BYTES),
            new Slots(classes));
    }

    // the magazines' backing: the slabs of each class
    private record Slots(SizeClass[] classes) implements ThreadStacks.Backing {
        @Override
        public int take(int sizeClass, long[] into, int at, int max) {
            return classes[sizeClass].take(into, at, max);
        }

        @Override
        public void give(int sizeClass, long[] from, int at, int count) {
            classes[sizeClass].give(from, at, count);
        }
    }

    @Override
    public String name() {
        return AgronaAllocatorProvider.NAME;
    }

    @Override
    public long allocate(long size, long alignment) {
        int c = sizes.classOf(size, alignment);
        if (c >= 0) {
            ThreadStacks.Stacks mine = magazines.current();
            long address = mine.pop(c);
            if (address != 0) {
                mine.tally(c, size);
            }
            return address;
        }
        return large.allocate(size, alignment);
    }

    /** Zeroed by {@link Pages#zero}: a large block's pages go back to the system instead of being written. */
    @Override
    public long allocateZeroed(long size, long alignment) {
        return Pages.zeroed(allocate(size, alignment), size);
    }

    @Override
    public void free(long address, long size, long alignment) {
        int c = sizes.classOf(size, alignment);
        if (c >= 0) {
            ThreadStacks.Stacks mine = magazines.current();
            mine.tally(c, -size);
            mine.push(c, address);
        } else {
            large.free(address, size, alignment);
        }
    }

    /** Small blocks straight from their class's slabs, one batch; the magazine is the borrower's (its tally still counts them). */
    @Override
    public int allocateBatch(long size, long[] into, int count) {
        int c = sizes.classOf(size, MIN_ALIGNMENT);
        if (c < 0) {
            return Allocator.super.allocateBatch(size, into, count);
        }
        int taken = 0;
        while (taken < count) {
            int got;
            try {
                got = classes[c].take(into, taken, count - taken); // from one slab at a time
            } catch (RuntimeException | Error e) {
                if (taken == 0) {
                    throw e;
                }
                break; // the blocks taken so far are handed over, not lost
            }
            if (got == 0) {
                break;
            }
            taken += got;
        }
        magazines.current().tally(c, size * taken);
        return taken;
    }

    /** Small blocks straight back to their class's slabs, one batch. */
    @Override
    public void freeBatch(long size, long[] from, int count) {
        int c = sizes.classOf(size, MIN_ALIGNMENT);
        if (c < 0) {
            Allocator.super.freeBatch(size, from, count);
            return;
        }
        magazines.current().tally(c, -size * count);
        classes[c].give(from, 0, count);
    }

    /** In place when the block keeps its slot, or when the C heap can resize a large block; else moves it. */
    @Override
    public long reallocate(long address, long oldSize, long newSize, long alignment) {
        int from = sizes.classOf(oldSize, alignment);
        int to = sizes.classOf(newSize, alignment);
        if (from >= 0 && from == to) {
            magazines.current().tally(from, newSize - oldSize);
            return address;
        }
        if (from < 0 && to < 0 && alignment == MIN_ALIGNMENT) {
            return large.reallocate(address, oldSize, newSize);
        }
        return Allocator.super.reallocate(address, oldSize, newSize, alignment);
    }

    /**
     * Gives the calling thread's cached slots and those of ended threads back to their slabs, then applies
     * the reclaim policy to every class now, as a timer would; with {@code force}, releases every empty
     * slab whatever the policy. Classes busy in another thread are skipped; slots cached by other live
     * threads stay where they are and keep their slabs.
     */
    public void reclaim(boolean force) {
        magazines.flushCurrent();
        magazines.retireEnded();
        for (SizeClass c : classes) {
            c.reclaim(force);
        }
    }

    /**
     * {@link #reclaim} with force, then the C library's free pages go back to the system (slabs and
     * large blocks come from {@code malloc}, whose freed memory stays resident until trimmed).
     */
    /** The slabs and large blocks held (from {@code malloc}, whose residency this cannot see). */
    @Override
    public long mappedBytes() {
        return budget.held();
    }

    @Override
    public void trim() {
        reclaim(true);
        CHeap.trim();
    }

    /** Under the limit's pressure: every empty slab (after this thread's magazines) goes back before a new one is made. */
    void releaseEmptySlabs() {
        // reclaim flushes this thread's magazines: a class refilling calls this with its own magazine empty
        reclaim(true);
    }

    /** Before a class grows: ended threads' cached slots go home first. @return whether any did */
    boolean retireEndedMagazines() {
        return magazines.retireEnded();
    }

    /**
     * {@code heldBytes} (slabs and large buffers), {@code limit}, {@code largeBlocks}, {@code largeBytes},
     * {@code slabSize}, {@code magazineThreads} (threads with magazines), and per size class in use
     * {@code class.<slot size>.slabs}, {@code .slotsUsed} (live blocks), {@code .slotsFree} (including
     * {@code .slotsCached}, the free slots in thread magazines), {@code .wasteBytes} (rounding inside used
     * slots plus slab tails) and {@code .slabsReleased}. Figures from other threads' magazines are read
     * racily: exact only while no other thread allocates or frees.
     */
    @Override
    public Map<String, Long> statistics() {
        Map<String, Long> out = new LinkedHashMap<>();
        out.put("heldBytes", budget.held());
        out.put("limit", budget.limit());
        out.put("slabSize", (long) settings.slabSize());
        out.put("largeBlocks", (long) large.count());
        out.put("largeBytes", large.bytes());
        out.put("magazineThreads", (long) magazines.threads());
        long[] requested = new long[classes.length];
        long[] cached = new long[classes.length];
        magazines.totals(requested, cached);
        Map<String, Long> perClass = new LinkedHashMap<>();
        for (int i = 0; i < classes.length; i++) {
            SizeClass c = classes[i];
            perClass.clear();
            c.statistics(perClass, requested[i], cached[i]);
            if (perClass.get("class." + c.slotSize() + ".slabs") > 0
                || perClass.get("class." + c.slotSize() + ".slabsReleased") > 0) {
                out.putAll(perClass);
            }
        }
        return out;
    }

    /** The slot sizes, smallest first. */
    int[] slotSizes() {
        int[] out = new int[sizes.count()];
        for (int i = 0; i < out.length; i++) {
            out[i] = sizes.size(i);
        }
        return out;
    }

    @Override
    public void close() {
        magazines.close();
        for (SizeClass c : classes) {
            c.close();
        }
        large.close();
    }

    @Override
    public String toString() {
        return "agrona slabs " + sizes + ", slab " + settings.slabSize() + " bytes, magazines of "
            + settings.magazineSize();
    }
}
