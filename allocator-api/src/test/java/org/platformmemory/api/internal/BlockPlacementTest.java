package org.platformmemory.api.internal;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.MemoryFlags;
import org.platformmemory.api.Tracking;
import org.platformmemory.api.contract.BlockPattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlockPlacementTest {

    private Rooms rooms;

    private Rooms rooms(Tracking mode, long limit, boolean nativeHeaps) {
        rooms = new Rooms(mode, limit, new TestBackend(nativeHeaps));
        return rooms;
    }

    @AfterEach
    void closeAll() {
        if (rooms != null) {
            rooms.release.closeAll(Duration.ZERO);
        }
    }

    @Test
    void shouldPlaceAnAlignedBlockBehindItsHeaderAndCountIt() {
        Rooms r = rooms(Tracking.COUNTERS, 0, false);
        int flags = MemoryFlags.CLEAR | MemoryFlags.TEMP;
        long user = r.placement.place(null, 100, flags, 6, SiteTable.NONE);
        assertNotEquals(0, user);
        assertEquals(0, user % 64);
        long word0 = r.header.word0(user);
        assertEquals(100, BlockHeader.sizeOf(word0));
        assertEquals(flags, BlockHeader.flagsOf(word0));
        assertEquals(6, BlockHeader.alignmentLog2Of(word0));
        assertEquals(0, r.header.heap(user));
        assertTrue(r.header.intact(user, word0, r.header.word1(user)));
        assertTrue(BlockPattern.allBytes(user, 100, (byte) 0), "CLEAR");
        assertTrue(r.blocks.contains(user));
        assertEquals(1, r.blocks.count(LiveBlockSet.ALLOCATED));
        assertEquals(100, r.accounting.liveBytes());
        assertEquals(100, r.accounting.peakBytes());
        assertEquals(1, r.raw.outstanding());
        assertEquals(List.of(), r.handler.reports());
    }

    @Test
    void shouldRefuseAPlacementTheBudgetOrTheBackendCannotTakeAndChangeNothingElse() {
        Rooms r = rooms(Tracking.COUNTERS, 150, false);
        long first = r.place(100);
        assertNotEquals(0, first);
        assertEquals(0, r.place(60));
        assertEquals(ErrorCode.ALLOCATION_FAILED, r.handler.last().error());
        assertEquals("allocate(60 bytes) failed: the budget allocator.limit=150 has 50 bytes left", r.handler.last().message());
        r.raw.refuse = true;
        assertEquals(0, r.place(50));
        assertEquals("allocate(50 bytes) failed: backend 'test' has no memory for it", r.handler.last().message());
        assertEquals(2, r.accounting.failedAllocations());
        assertEquals(100, r.accounting.liveBytes(), "the reservation was given back");
        assertEquals(100, r.accounting.peakBytes());
        assertEquals(1, r.blocks.size());
        assertEquals(1, r.blocks.count(LiveBlockSet.ALLOCATED));
        assertEquals(1, r.raw.outstanding());
        assertEquals(0, r.errors.callerErrors());
        r.raw.refuse = false;
        assertNotEquals(0, r.place(50), "the budget has exactly 50 bytes left");
    }

    @Test
    void shouldReportAnOverflowingOrImpossibleSizeWithoutCallingTheBackend() {
        Rooms r = rooms(Tracking.DEBUG, 0, false);
        assertEquals(0, r.place(-1));
        assertEquals(ErrorCode.SIZE_OVERFLOW, r.handler.last().error());
        assertTrue(r.handler.last().message().startsWith("allocate(18446744073709551615 bytes): the size overflows once the "
            + r.header.overheadFor(16) + "-byte header is added"), r.handler.last().message());
        assertEquals(0, r.place(Long.MAX_VALUE - 10));
        assertEquals(ErrorCode.SIZE_OVERFLOW, r.handler.last().error());
        assertEquals(0, r.place(Allocator.MAX_BLOCK_SIZE));
        assertEquals(ErrorCode.ALLOCATION_FAILED, r.handler.last().error());
        assertEquals(3, r.accounting.failedAllocations());
        assertEquals(2, r.errors.callerErrors(), "an overflow is the caller's error, a too-large size is not");
        assertEquals(0, r.accounting.liveBytes());
        assertEquals(0, r.raw.outstanding());
        assertEquals(0, r.blocks.size());
    }

    @Test
    void shouldAcceptOnlyPowersOfTwoUpToOneGibibyteAsAlignments() {
        Rooms r = rooms(Tracking.COUNTERS, 0, false);
        for (long small : new long[] {1, 2, 4, 8, 16}) {
            assertEquals(4, r.placement.alignmentLog2(small), "alignment " + small);
        }
        assertEquals(5, r.placement.alignmentLog2(32));
        assertEquals(30, r.placement.alignmentLog2(BlockPlacement.MAX_ALIGNMENT));
        assertEquals(List.of(), r.handler.reports());
        long[] bad = {0, 3, 48, 1L << 31, -1};
        for (long alignment : bad) {
            assertEquals(-1, r.placement.alignmentLog2(alignment), "alignment " + alignment);
        }
        assertEquals(List.of(ErrorCode.BAD_ALIGNMENT, ErrorCode.BAD_ALIGNMENT, ErrorCode.BAD_ALIGNMENT,
            ErrorCode.BAD_ALIGNMENT, ErrorCode.BAD_ALIGNMENT), r.handler.errors());
        assertEquals("allocate: alignment 18446744073709551615 is not a power of two from 1 to 1073741824",
            r.handler.last().message());
        assertEquals(0, r.accounting.failedAllocations(), "the caller of alignmentLog2 counts the failure");
    }

    @Test
    void shouldResizeAClaimedBlockKeepingItsBytesAndDressingTheNewTail() {
        Rooms r = rooms(Tracking.DEBUG, 0, false);
        long user = r.place(64);
        BlockPattern.fill(user, 64, 5);
        long word0 = r.release.claim(user, 64, true);
        long moved = r.placement.resize(user, word0, 4096, 0);
        assertNotEquals(0, moved);
        assertTrue(BlockPattern.holds(moved, 64, 5));
        assertTrue(BlockPattern.allBytes(moved + 64, 4096 - 64, BlockHeader.FILL_NEW));
        assertTrue(BlockPattern.allBytes(moved + 4096, BlockHeader.GUARD, BlockHeader.FILL_GUARD));
        assertEquals(4096, r.header.size(moved));
        assertTrue(r.header.intact(moved, r.header.word0(moved), r.header.word1(moved)));
        assertEquals(1, r.blocks.size());
        assertTrue(r.blocks.contains(moved));
        assertEquals(1, r.blocks.count(LiveBlockSet.REALLOCATED));
        assertEquals(4096, r.accounting.liveBytes());
        assertEquals(4096, r.accounting.peakBytes());
        long shrunk = r.placement.resize(moved, r.release.claim(moved, 0, true), 16, 0);
        assertTrue(BlockPattern.holds(shrunk, 16, 5));
        assertEquals(16, r.accounting.liveBytes());
        assertEquals(4096, r.accounting.peakBytes());
        assertEquals(2, r.blocks.count(LiveBlockSet.REALLOCATED));
        assertEquals(List.of(), r.handler.reports());
    }

    @Test
    void shouldPutTheBlockBackUnchangedWhenAGrowIsRefused() {
        Rooms r = rooms(Tracking.COUNTERS, 200, false);
        long user = r.place(100);
        BlockPattern.fill(user, 100, 8);
        assertEquals(0, r.placement.resize(user, r.release.claim(user, 0, true), 300, 0));
        assertEquals("reallocate(300 bytes) failed: the budget allocator.limit=200 has 100 bytes left",
            r.handler.last().message());
        r.raw.refuse = true;
        assertEquals(0, r.placement.resize(user, r.release.claim(user, 0, true), 150, 0));
        assertEquals("reallocate(150 bytes) failed: backend 'test' has no memory for it", r.handler.last().message());
        assertEquals(0, r.placement.resize(user, r.release.claim(user, 0, true), -5, 0));
        assertEquals(ErrorCode.SIZE_OVERFLOW, r.handler.last().error());
        assertTrue(r.blocks.contains(user), "live again");
        assertEquals(1, r.blocks.size());
        assertEquals(100, r.header.size(user));
        assertTrue(BlockPattern.holds(user, 100, 8));
        assertEquals(100, r.accounting.liveBytes());
        assertEquals(100, r.accounting.peakBytes());
        assertEquals(3, r.accounting.failedAllocations());
        assertEquals(0, r.blocks.count(LiveBlockSet.REALLOCATED));
        assertEquals(0, r.blocks.count(LiveBlockSet.FREED));
    }

    @Test
    void shouldPlaceAHeapBlockInItsHeapAndKeepItThereWhenItMoves() {
        Rooms r = rooms(Tracking.COUNTERS, 0, true);
        HeapRecord heap = r.heaps.create(r.backend, r.accounting);
        TestBackend own = r.raw.heapsCreated.getFirst();
        long user = r.place(heap, 64);
        assertEquals(heap.tag, r.header.heap(user));
        assertTrue(heap.blocks.contains(user));
        assertEquals(1, own.outstanding());
        assertEquals(0, r.raw.outstanding(), "the backend itself gave nothing");
        long moved = r.placement.resize(user, r.release.claim(user, 0, true), 1 << 20, 0);
        assertNotEquals(0, moved);
        assertEquals(heap.tag, r.header.heap(moved));
        assertTrue(heap.blocks.contains(moved));
        assertEquals(1, heap.blocks.size());
        assertEquals(moved == user, heap.blocks.contains(user));
        assertEquals(1, own.outstanding());
        assertEquals(0, r.raw.outstanding());
    }

    @Test
    void shouldLetAHeapBlockGoWithItsHeapWhenTheHeapIsDestroyedMidResize() {
        Rooms r = rooms(Tracking.COUNTERS, 0, true);
        HeapRecord heap = r.heaps.create(r.backend, r.accounting);
        long user = r.place(heap, 64);
        long other = r.place(32);
        long word0 = r.release.claim(user, 0, true);
        assertTrue(r.release.destroy(heap));
        assertSame(heap, r.heaps.byId(heap.id), "the heap waits for the resize under way");
        assertEquals(0, r.placement.resize(user, word0, 128, 0));
        assertEquals(ErrorCode.INVALID_HEAP, r.handler.last().error());
        assertEquals(user, r.handler.last().address());
        assertEquals(32, r.accounting.liveBytes());
        assertEquals(1, r.blocks.count(LiveBlockSet.FREED));
        assertEquals(1, r.blocks.size());
        assertTrue(r.blocks.contains(other));
        assertEquals(1, r.raw.heapsCreated.getFirst().closes.get(), "the heap closed once its last block was done");
        assertNull(r.heaps.byId(heap.id));
    }
}
