package org.platformmemory.api.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.Tracking;
import org.platformmemory.api.contract.RecordingErrorHandler;
import org.platformmemory.api.contract.RecordingErrorHandler.Report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.platformmemory.api.internal.ErrorReporter.hex;

class PointerDiagnosisTest {

    private final Allocator libc = new SystemAllocator();
    private final List<Long> taken = new ArrayList<>();
    private final ErrorReporter errors = new ErrorReporter();
    private final RecordingErrorHandler handler = new RecordingErrorHandler();
    private final BlockHeader header = new BlockHeader(Tracking.COUNTERS);
    private final AtomicLong sizeReads = new AtomicLong();
    private final LiveBlockSet blocks = new LiveBlockSet(4, user -> {
        sizeReads.incrementAndGet();
        return header.size(user);
    });
    private final Quarantine none = new Quarantine(0, 1, header, null, null, errors);
    private final PointerDiagnosis diagnosis = new PointerDiagnosis(blocks, header, errors, none);

    @BeforeEach
    void listen() {
        errors.setHandler(handler);
    }

    @AfterEach
    void giveBack() {
        taken.forEach(base -> libc.free(base, 0, Allocator.MIN_ALIGNMENT));
    }

    /** A live block of {@code size} bytes with its header, as the placement leaves it. */
    private long live(long size) {
        long base = libc.allocate(header.overheadFor(16) + size, 16);
        taken.add(base);
        long user = base + header.offsetFor(16);
        header.write(user, size, 0, 4, 0, 0);
        blocks.add(user, LiveBlockSet.ALLOCATED);
        return user;
    }

    @Test
    void shouldReportAPointerIntoALiveBlockWithItsOffsetAndOwner() {
        long user = live(100);
        diagnosis.reject(user + 8, "free", false);
        assertEquals(List.of(new Report(ErrorCode.INTERIOR_POINTER, "free(" + hex(user + 8) + "): points 8 bytes into the"
            + " live block " + hex(user) + " (100 bytes), not at its start; nothing was done", user + 8)), handler.reports());
        diagnosis.reject(user + 99, "reallocate", true);
        assertEquals(ErrorCode.INTERIOR_POINTER, handler.last().error());
        assertTrue(handler.last().message().contains("points 99 bytes into"));
        assertEquals(2, errors.callerErrors());
    }

    @Test
    void shouldReportAFreedBlockAsDoubleFreeOrReallocOfAFreedBlock() {
        long user = live(64);
        blocks.remove(user, LiveBlockSet.FREED);
        diagnosis.reject(user, "free", false);
        diagnosis.reject(user, "reallocate", true);
        assertEquals(List.of(
            new Report(ErrorCode.DOUBLE_FREE, "free(" + hex(user) + "): the block was already freed; nothing was done", user),
            new Report(ErrorCode.REALLOC_FREED, "reallocate(" + hex(user) + "): the block was already freed; nothing was done", user)),
            handler.reports());
    }

    @Test
    void shouldReportAnAddressNeverHandedOutWithoutTouchingItOrAnythingElse() {
        long user = live(64);
        long unmapped = 0x10; // reading it would crash the JVM
        diagnosis.reject(unmapped, "free", false);
        diagnosis.reject(user + 64, "free", false); // one past the end is not inside
        assertEquals(List.of(ErrorCode.INVALID_POINTER, ErrorCode.INVALID_POINTER), handler.errors());
        assertEquals(unmapped, handler.reports().get(0).address());
        assertEquals(user + 64, handler.last().address());
        assertTrue(handler.last().message().endsWith("not a block this allocator handed out (or freed long ago); nothing was done"));
        assertEquals(1, blocks.size());
        assertTrue(blocks.contains(user));
        assertEquals(1, blocks.count(LiveBlockSet.ALLOCATED));
        assertEquals(0, blocks.count(LiveBlockSet.FREED));
        assertEquals(64, header.size(user));
        assertTrue(header.intact(user, header.word0(user), header.word1(user)));
    }

    @Test
    void shouldNameTheLiveBlockAStalePointerNowPointsInto() {
        long owner = live(256);
        long stale = owner + 32; // a block that began here was freed, and its memory is now part of owner
        blocks.add(stale, LiveBlockSet.NONE);
        blocks.remove(stale, LiveBlockSet.NONE);
        diagnosis.reject(stale, "free", false);
        assertEquals(ErrorCode.INTERIOR_POINTER, handler.last().error());
        assertTrue(handler.last().message().endsWith("points 32 bytes into the live block " + hex(owner)
            + " (256 bytes), not at its start (a block freed earlier began there); nothing was done"), handler.last().message());
        assertEquals(1, handler.reports().size());
    }

    @Test
    void shouldReportASizeThatDisagreesWithTheRecordedOne() {
        diagnosis.sizeMismatch(0x7f0000001000L, 50, 100, false);
        diagnosis.sizeMismatch(0x7f0000001000L, -1, 100, true);
        assertEquals(List.of(
            new Report(ErrorCode.SIZE_MISMATCH, "free(0x7f0000001000, 50): the block was allocated with 100 bytes;"
                + " freed it as 100", 0x7f0000001000L),
            new Report(ErrorCode.SIZE_MISMATCH, "reallocate(0x7f0000001000, 18446744073709551615, ...): the block was"
                + " allocated with 100 bytes; used 100", 0x7f0000001000L)), handler.reports());
        assertEquals(2, errors.callerErrors());
    }

    @Test
    void shouldFindAPointerDeepInsideALargeBlockThroughTheSortedIndex() {
        long big = live(LiveBlockSet.NEAR * 3);
        long small = live(32);
        diagnosis.reject(big + LiveBlockSet.NEAR * 2 + 48, "free", false);
        assertEquals(ErrorCode.INTERIOR_POINTER, handler.last().error());
        assertTrue(handler.last().message().contains("into the live block " + hex(big)), handler.last().message());
        diagnosis.reject(small + 16, "free", false);
        assertTrue(handler.last().message().contains("into the live block " + hex(small)), handler.last().message());
        blocks.remove(big, LiveBlockSet.FREED);
        diagnosis.reject(big + LiveBlockSet.NEAR * 2 + 48, "free", false);
        assertEquals(ErrorCode.INVALID_POINTER, handler.last().error(), "a freed large block holds nothing any more");
    }

    @Test
    void shouldLookOnlyAtTheNearestLiveBlockBeforeAPointerWhateverTheNumberOfLiveBlocks() {
        long last = 0;
        for (int i = 0; i < 20_000; i++) {
            last = live(16 + i % 200);
        }
        sizeReads.set(0);
        long past = last + header.size(last) + 16;
        diagnosis.reject(past, "free", false);
        assertEquals(ErrorCode.INVALID_POINTER, handler.last().error(), handler.last().message());
        // blocks never overlap: once the nearest live start before it does not reach it, none does
        assertTrue(sizeReads.get() <= 2, "size reads: " + sizeReads.get());
        assertEquals(20_000, blocks.size());
    }

    @Test
    void shouldTellALateDoubleFreeByTheMarkItsFreeLeftInTheHeader() {
        long user = live(64);
        long word0 = header.word0(user);
        blocks.remove(user, LiveBlockSet.FREED);
        header.invalidate(user, header.word1(user));
        assertTrue(!header.intact(user, word0, header.word1(user)), "a freed header never passes as live");
        // long after: the stripes' memories of recent frees have moved on
        for (int i = 0; i < 5_000; i++) {
            long other = live(16);
            blocks.remove(other, LiveBlockSet.FREED);
        }
        assertTrue(!blocks.recentlyRemoved(user));
        diagnosis.reject(user, "free", false);
        assertEquals(ErrorCode.DOUBLE_FREE, handler.last().error(), handler.last().message());
        assertTrue(diagnosis.knows(user));
        // the same address with its header written over is a stranger again
        header.write(user, 64, 0, 4, 0, 0);
        diagnosis.reject(user, "free", false);
        assertEquals(ErrorCode.INVALID_POINTER, handler.last().error());
    }
}
