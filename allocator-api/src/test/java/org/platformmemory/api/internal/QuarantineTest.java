package org.platformmemory.api.internal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.Tracking;
import org.platformmemory.api.kit.NativeMemory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuarantineTest {

    private final TestBackend raw = new TestBackend(false);
    private Rooms rooms = new Rooms(Tracking.DEBUG, 0, raw, 4096);

    @AfterEach
    void close() {
        rooms.release.closeAll(java.time.Duration.ZERO);
    }

    private long place(long size) {
        return rooms.place(size);
    }

    private void free(long user) {
        long word0 = rooms.release.claim(user, 0, false);
        assertNotEquals(0, word0);
        rooms.release.release(user, word0);
    }

    @Test
    void shouldHoldAFreedBlockFilledSoItsAddressIsNotHandedOutAgain() {
        long a = place(100);
        free(a);
        assertTrue(rooms.quarantine.holds(a));
        assertEquals(1, rooms.quarantine.size());
        assertEquals(100, rooms.quarantine.bytes());
        assertEquals(0, raw.frees.get(), "the backend has not had it back");
        assertEquals(-1, NativeMemory.mismatch(a - BlockHeader.GUARD, 100 + 2 * BlockHeader.GUARD, BlockHeader.FILL_FREED));
        assertEquals(0, rooms.accounting.liveBytes(), "a held block is freed as far as the figures go");
        long b = place(100);
        assertNotEquals(a, b);
    }

    @Test
    void shouldTellAFreeOfAHeldBlockAsADoubleFreeAndTouchNothing() {
        long a = place(64);
        free(a);
        long other = place(64);
        assertEquals(0, rooms.release.claim(a, 0, false));
        assertEquals(ErrorCode.DOUBLE_FREE, rooms.handler.last().error());
        assertTrue(rooms.handler.last().message().contains("held in the debug quarantine"), rooms.handler.last().message());
        assertTrue(rooms.blocks.contains(other));
    }

    @Test
    void shouldLetTheOldestGoOnceOverItsBytesAndReportAWriteAfterFreeWithTheSite() {
        int site = rooms.tracker.siteId("level.c", 42);
        long a = rooms.placement.place(null, 1000, 0, BlockPlacement.MIN_ALIGNMENT_LOG2, site);
        free(a);
        NativeMemory.putByte(a + 10, (byte) 7); // a write after free
        for (int i = 0; i < 4; i++) {
            free(place(1000)); // 4 x 1000 more bytes push the first one out of a 4096-byte quarantine
        }
        assertFalse(rooms.quarantine.holds(a));
        assertEquals(1, raw.frees.get());
        assertEquals(ErrorCode.USE_AFTER_FREE, rooms.handler.last().error());
        String message = rooms.handler.last().message();
        assertTrue(message.contains("level.c:42") && message.contains("byte 10 is 0x07"), message);
        assertEquals(a, rooms.handler.last().address());
    }

    @Test
    void shouldFindWritesOnACheckOnceAndFreeEverythingOnClose() {
        long a = place(48);
        long b = place(48);
        free(a);
        free(b);
        NativeMemory.putByte(a - 3, (byte) 0); // in the front guard
        NativeMemory.putByte(b + 50, (byte) 0); // in the back guard
        assertEquals(2, rooms.quarantine.checkAll());
        assertEquals(2, rooms.handler.errors().stream().filter(e -> e == ErrorCode.USE_AFTER_FREE).count());
        assertEquals(0, rooms.quarantine.checkAll(), "each write is told once");
        rooms.quarantine.releaseAll();
        assertEquals(0, rooms.quarantine.size());
        assertEquals(2, raw.frees.get());
    }

    @Test
    void shouldHoldNothingWhenOff() {
        rooms.release.closeAll(java.time.Duration.ZERO);
        rooms = new Rooms(Tracking.DEBUG, 0, raw, 0);
        long a = place(64);
        free(a);
        assertFalse(rooms.quarantine.holds(a));
        assertEquals(0, rooms.quarantine.size());
    }
}
