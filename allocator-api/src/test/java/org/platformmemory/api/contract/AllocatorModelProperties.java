package org.platformmemory.api.contract;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.MemoryFlags;
import org.platformmemory.api.MemoryStats;
import org.platformmemory.api.TrackedAllocator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random operation sequences, good and bad, run against the facade and against a plain model of what it
 * must do; every result and every statistic is compared after every step. jqwik shrinks a failing
 * sequence to a short one.
 */
public abstract class AllocatorModelProperties extends BackendUnderTest {

    /** One step of a sequence. {@code pick} chooses a live (or freed) block by index, modulo their number. */
    sealed interface Op permits Alloc, Free, Realloc, FreeAgain, FreeInterior, SizeOf {
    }

    record Alloc(long size, int flags, long alignment) implements Op {
    }

    /** {@code sizeHint}: 0 = pass 0, 1 = the exact size, 2 = a wrong size. */
    record Free(int pick, int sizeHint) implements Op {
    }

    record Realloc(int pick, long newSize, int sizeHint) implements Op {
    }

    record FreeAgain(int pick) implements Op {
    }

    record FreeInterior(int pick, long offset) implements Op {
    }

    record SizeOf(int pick) implements Op {
    }

    /** A live block in the model. */
    private record Block(long address, long size, long seed) {
    }

    @Provide
    Arbitrary<List<Op>> sequences() {
        Arbitrary<Long> sizes = Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(6, Arbitraries.longs().between(1, 256)),
            net.jqwik.api.Tuple.of(3, Arbitraries.longs().between(257, 70_000)),
            net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(70_001, 3 << 20)));
        Arbitrary<Integer> flags = Arbitraries.of(MemoryFlags.NORMAL, MemoryFlags.CLEAR, MemoryFlags.TEMP,
            MemoryFlags.CLEAR | MemoryFlags.TEMP, MemoryFlags.NEW | MemoryFlags.LOCK);
        Arbitrary<Long> alignments = Arbitraries.of(16L, 16L, 16L, 8L, 32L, 64L, 4096L);
        Arbitrary<Integer> picks = Arbitraries.integers().between(0, 1000);
        Arbitrary<Integer> hints = Arbitraries.integers().between(0, 2);
        Arbitrary<Op> op = Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(10, Combinators.combine(sizes, flags, alignments).as(Alloc::new)),
            net.jqwik.api.Tuple.of(6, Combinators.combine(picks, hints).as(Free::new)),
            net.jqwik.api.Tuple.of(4, Combinators.combine(picks, sizes, hints).as(Realloc::new)),
            net.jqwik.api.Tuple.of(1, picks.map(FreeAgain::new)),
            net.jqwik.api.Tuple.of(1, Combinators.combine(picks, Arbitraries.longs().between(1, 300)).as(FreeInterior::new)),
            net.jqwik.api.Tuple.of(2, picks.map(SizeOf::new)));
        return op.list().ofMinSize(1).ofMaxSize(60);
    }

    @Property(tries = 200)
    void everySequenceBehavesLikeTheModel(@ForAll("sequences") List<Op> ops,
                                          @ForAll @IntRange(min = 0, max = 2) int budget) {
        long limit = budget == 0 ? 0 : budget == 1 ? 256 * 1024 : 4 << 20;
        TrackedAllocator memory = open(limit == 0 ? Map.of() : Map.of(AllocatorConfig.LIMIT, Long.toString(limit)));
        RecordingErrorHandler errors = new RecordingErrorHandler();
        memory.setErrorHandler(errors);
        List<Block> live = new ArrayList<>();
        List<Long> freed = new ArrayList<>();
        long liveBytes = 0;
        long peak = 0;
        long allocations = 0;
        long frees = 0;
        long reallocs = 0;
        long failed = 0;
        long callerErrors = 0;
        long seed = 1;
        try {
            for (Op op : ops) {
                switch (op) {
                    case Alloc a -> {
                        long p = memory.allocate(a.size(), a.flags(), a.alignment());
                        if (limit != 0 && liveBytes + a.size() > limit) {
                            assertEquals(0, p, "allocation beyond the budget fails: " + op);
                            assertEquals(ErrorCode.ALLOCATION_FAILED, errors.last().error());
                            failed++;
                        } else {
                            assertNotEquals(0, p, op.toString());
                            assertEquals(0, p % Math.max(16, a.alignment()), "alignment of " + op);
                            if ((a.flags() & MemoryFlags.CLEAR) != 0) {
                                assertTrue(BlockPattern.allBytes(p, a.size(), (byte) 0), "CLEAR zeroes " + op);
                            }
                            BlockPattern.fill(p, a.size(), ++seed);
                            live.add(new Block(p, a.size(), seed));
                            freed.remove(p);
                            liveBytes += a.size();
                            peak = Math.max(peak, liveBytes);
                            allocations++;
                        }
                    }
                    case Free f when !live.isEmpty() -> {
                        Block b = live.remove(f.pick() % live.size());
                        assertTrue(BlockPattern.holds(b.address(), b.size(), b.seed()), "contents before free");
                        long size = f.sizeHint() == 0 ? 0 : f.sizeHint() == 1 ? b.size() : b.size() + 1;
                        memory.free(b.address(), size);
                        if (f.sizeHint() == 2) {
                            assertEquals(ErrorCode.SIZE_MISMATCH, errors.last().error());
                            callerErrors++;
                        }
                        freed.add(b.address());
                        liveBytes -= b.size();
                        frees++;
                    }
                    case Realloc r when !live.isEmpty() -> {
                        int index = r.pick() % live.size();
                        Block b = live.get(index);
                        long size = r.sizeHint() == 0 ? 0 : r.sizeHint() == 1 ? b.size() : b.size() + 3;
                        long p = memory.reallocate(b.address(), size, r.newSize());
                        if (r.sizeHint() == 2) {
                            callerErrors++;
                        }
                        long grow = r.newSize() - b.size();
                        if (limit != 0 && grow > 0 && liveBytes + grow > limit) {
                            assertEquals(0, p, "realloc beyond the budget fails: " + op);
                            assertEquals(ErrorCode.ALLOCATION_FAILED, errors.last().error());
                            assertEquals(b.size(), memory.sizeOf(b.address()), "the old block is still live");
                            failed++;
                        } else {
                            assertNotEquals(0, p, op.toString());
                            long kept = Math.min(b.size(), r.newSize());
                            assertTrue(BlockPattern.holds(p, kept, b.size(), b.seed()), "realloc kept " + kept + " bytes");
                            BlockPattern.fill(p, r.newSize(), ++seed);
                            live.set(index, new Block(p, r.newSize(), seed));
                            if (p != b.address()) {
                                freed.add(b.address());
                            }
                            liveBytes += grow;
                            peak = Math.max(peak, liveBytes);
                            reallocs++;
                        }
                    }
                    case FreeAgain f when !freed.isEmpty() -> {
                        long p = freed.get(f.pick() % freed.size());
                        if (live.stream().noneMatch(b -> b.address() == p)) {
                            memory.free(p, 0);
                            ErrorCode e = errors.last().error();
                            assertTrue(e == ErrorCode.DOUBLE_FREE || e == ErrorCode.INVALID_POINTER
                                || e == ErrorCode.INTERIOR_POINTER, "freeing a freed block: " + e);
                            callerErrors++;
                        }
                    }
                    case FreeInterior f when !live.isEmpty() -> {
                        Block b = live.get(f.pick() % live.size());
                        if (f.offset() < b.size()) {
                            memory.free(b.address() + f.offset(), 0);
                            assertEquals(ErrorCode.INTERIOR_POINTER, errors.last().error());
                            callerErrors++;
                        }
                    }
                    case SizeOf s when !live.isEmpty() -> {
                        Block b = live.get(s.pick() % live.size());
                        assertEquals(b.size(), memory.sizeOf(b.address()));
                    }
                    default -> {
                        // a step that needs a block when there is none: nothing to do
                    }
                }
                MemoryStats stats = memory.stats();
                assertEquals(new MemoryStats(liveBytes, live.size(), peak, allocations, frees, reallocs, failed,
                    callerErrors, limit), stats, "statistics after " + op);
            }
            for (Block b : live) {
                assertTrue(BlockPattern.holds(b.address(), b.size(), b.seed()), "contents at the end");
                memory.free(b.address(), b.size());
            }
            assertEquals(0, memory.liveBytes());
        } finally {
            memory.close();
        }
    }
}
