package org.platformmemory.api.internal;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.Tracking;
import org.platformmemory.api.kit.NativeMemory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlockReleaseTest {

    private Rooms rooms;

    private Rooms rooms(Tracking mode, boolean nativeHeaps) {
        rooms = new Rooms(mode, 0, new TestBackend(nativeHeaps));
        return rooms;
    }

    @AfterEach
    void closeAll() {
        if (rooms != null) {
            rooms.release.closeAll(Duration.ZERO);
        }
    }

    @Test
    void shouldClaimALiveBlockExactlyOnce() {
        Rooms r = rooms(Tracking.COUNTERS, false);
        long user = r.place(100);
        long word0 = r.release.claim(user, 0, false);
        assertEquals(r.header.word0(user), word0);
        assertFalse(r.blocks.contains(user));
        assertEquals(1, r.blocks.count(LiveBlockSet.FREED));
        assertEquals(0, r.release.claim(user, 0, false));
        assertEquals(0, r.release.claim(user, 0, true));
        assertEquals(List.of(ErrorCode.DOUBLE_FREE, ErrorCode.REALLOC_FREED), r.handler.errors());
        assertEquals(user, r.handler.last().address());
        assertEquals(1, r.blocks.count(LiveBlockSet.FREED), "a refused claim counts nothing");
        assertEquals(100, r.accounting.liveBytes(), "claiming gives nothing back yet");
        r.release.release(user, word0);
    }

    @Test
    void shouldReportASizeMismatchAndClaimWithTheRecordedSize() {
        Rooms r = rooms(Tracking.COUNTERS, false);
        long user = r.place(100);
        long word0 = r.release.claim(user, 50, false);
        assertEquals(100, BlockHeader.sizeOf(word0));
        assertEquals(ErrorCode.SIZE_MISMATCH, r.handler.last().error());
        assertEquals(user, r.handler.last().address());
        r.release.release(user, word0);
        assertEquals(0, r.accounting.liveBytes(), "freed as the 100 bytes it has");
        assertEquals(1, r.handler.reports().size());
    }

    @Test
    void shouldKeepABlockWhoseHeaderWasOverwrittenLiveAndUncounted() {
        Rooms r = rooms(Tracking.COUNTERS, false);
        long user = r.place(100);
        byte saved = NativeMemory.getByte(user - 1);
        NativeMemory.putByte(user - 1, (byte) ~saved);
        assertEquals(0, r.release.claim(user, 0, false));
        assertEquals(0, r.release.claim(user, 0, true));
        assertEquals(List.of(ErrorCode.HEADER_CORRUPTED, ErrorCode.HEADER_CORRUPTED), r.handler.errors());
        assertEquals(user, r.handler.last().address());
        assertTrue(r.blocks.contains(user), "kept, not freed");
        assertEquals(0, r.blocks.count(LiveBlockSet.FREED), "the free was undone");
        assertEquals(100, r.accounting.liveBytes());
        assertEquals(1, r.raw.outstanding());
        assertEquals(0, r.raw.frees.get());
        NativeMemory.putByte(user - 1, saved);
        assertNotEquals(0, r.release.claim(user, 0, false), "once repaired it can be freed");
        r.release.release(user, r.header.word0(user));
    }

    @Test
    void shouldGiveTheMemoryAndItsBytesBackOnRelease() {
        Rooms r = rooms(Tracking.DEBUG, false);
        long kept = r.place(30);
        long user = r.place(100);
        r.release.release(user, r.release.claim(user, 0, false));
        assertEquals(30, r.accounting.liveBytes());
        assertEquals(1, r.raw.outstanding());
        assertEquals(1, r.raw.frees.get());
        assertEquals(1, r.blocks.size());
        assertTrue(r.blocks.contains(kept));
        assertEquals(1, r.blocks.count(LiveBlockSet.FREED));
        assertEquals(130, r.accounting.peakBytes(), "the peak stays");
        assertEquals(List.of(), r.handler.reports(), "intact guards");
    }

    @Test
    void shouldFreeEveryBlockOfADestroyedHeapAndFreeItsId() {
        Rooms r = rooms(Tracking.DEBUG, false);
        HeapRecord heap = r.heaps.create(r.backend, r.accounting);
        assertFalse(heap.isNative);
        for (int i = 1; i <= 3; i++) {
            r.place(heap, 10 * i);
        }
        long outside = r.place(7);
        assertEquals(4, r.raw.outstanding());
        assertTrue(r.release.destroy(heap));
        assertTrue(heap.destroyed());
        assertEquals(3, r.blocks.count(LiveBlockSet.FREED));
        assertEquals(7, r.accounting.liveBytes());
        assertEquals(1, r.raw.outstanding(), "each heap block went back to the backend");
        assertEquals(1, r.blocks.size());
        assertTrue(r.blocks.contains(outside));
        assertNull(r.heaps.byId(heap.id));
        assertFalse(r.release.destroy(heap), "destroyed already");
        assertEquals(3, r.blocks.count(LiveBlockSet.FREED));
        HeapRecord next = r.heaps.create(r.backend, r.accounting);
        assertEquals(heap.id, next.id, "the id is free again");
        assertNotEquals(heap.tag, next.tag);
        assertEquals(List.of(), r.handler.reports());
    }

    @Test
    void shouldLetANativeHeapTakeItsBlocksBackInOneClose() {
        Rooms r = rooms(Tracking.DEBUG, true);
        HeapRecord heap = r.heaps.create(r.backend, r.accounting);
        assertTrue(heap.isNative);
        TestBackend own = r.raw.heapsCreated.getFirst();
        r.place(heap, 64);
        r.place(heap, 128);
        assertTrue(r.release.destroy(heap));
        assertEquals(0, own.frees.get(), "no block freed one by one");
        assertEquals(1, own.closes.get());
        assertEquals(0, own.outstanding());
        assertEquals(0, r.accounting.liveBytes());
        assertEquals(2, r.blocks.count(LiveBlockSet.FREED));
        assertEquals(0, r.blocks.size());
        assertNull(r.heaps.byId(heap.id));
        assertEquals(0, r.raw.closes.get(), "the backend itself stays open");
        assertEquals(List.of(), r.handler.reports());
    }

    @Test
    void shouldKeepANativeHeapOpenUntilAFreeClaimedBeforeItsDestroyIsDone() {
        Rooms r = rooms(Tracking.COUNTERS, true);
        HeapRecord heap = r.heaps.create(r.backend, r.accounting);
        TestBackend own = r.raw.heapsCreated.getFirst();
        long claimed = r.place(heap, 64);
        r.place(heap, 32);
        long word0 = r.release.claim(claimed, 0, false);
        assertTrue(r.release.destroy(heap));
        assertEquals(0, own.closes.get(), "a free under way still needs the heap's memory");
        assertSame(heap, r.heaps.byId(heap.id));
        assertEquals(1, heap.pendingReleases);
        assertEquals(64, r.accounting.liveBytes());
        r.release.release(claimed, word0);
        assertEquals(1, own.closes.get());
        assertEquals(0, own.frees.get(), "the claimed block went with the heap");
        assertNull(r.heaps.byId(heap.id));
        assertEquals(0, r.accounting.liveBytes());
        assertEquals(2, r.blocks.count(LiveBlockSet.FREED));
        assertEquals(List.of(), r.handler.reports());
    }

    @Test
    void shouldFreeEveryBlockAndHeapThenCloseTheBackendOnCloseAll() {
        Rooms r = rooms(Tracking.LEAKS, true);
        HeapRecord heap = r.heaps.create(r.backend, r.accounting);
        TestBackend own = r.raw.heapsCreated.getFirst();
        r.place(heap, 64);
        r.place(100);
        r.place(200);
        r.release.closeAll(Duration.ZERO);
        rooms = null;
        assertEquals(0, r.accounting.liveBytes());
        assertEquals(0, r.blocks.size());
        assertEquals(3, r.blocks.count(LiveBlockSet.FREED));
        assertEquals(2, r.raw.frees.get(), "the two backend blocks one by one");
        assertEquals(1, own.closes.get());
        assertTrue(heap.destroyed());
        assertNull(r.heaps.byId(heap.id));
        assertEquals(1, r.raw.closes.get());
        assertEquals(List.of(), r.handler.reports());
    }
}
