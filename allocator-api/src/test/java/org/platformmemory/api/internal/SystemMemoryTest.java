package org.platformmemory.api.internal;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SystemMemoryTest {

    private static long parse(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        return SystemMemory.parseAvailable(bytes, bytes.length);
    }

    @Test
    void shouldReadMemAvailableInBytesWhereverItsLineIs() {
        assertEquals(23666888L * 1024, parse("MemTotal:       24683612 kB\nMemFree:        23560536 kB\n"
            + "MemAvailable:   23666888 kB\nBuffers:            5272 kB\n"));
        assertEquals(7L * 1024, parse("MemAvailable: 7 kB\n"));
    }

    @Test
    void shouldSayNoneWhenTheLineIsMissingCutOrEmpty() {
        assertEquals(-1, parse("MemTotal:       24683612 kB\nMemFree:        23560536 kB\n"));
        assertEquals(-1, parse("MemAvailable:"));
        assertEquals(-1, parse("MemAvailable:    kB\n"));
        assertEquals(-1, parse("XMemAvailable:   5 kB\n"));
        assertEquals(-1, parse(""));
    }

    @Test
    void shouldGiveTheSystemsFigureAndKeepItBriefly() {
        SystemMemory.forget();
        long start = System.nanoTime();
        long first = SystemMemory.available();
        long again = SystemMemory.available();
        boolean fresh = System.nanoTime() - start < SystemMemory.FRESH_NANOS;
        assertTrue(first > 0, "available " + first);
        assertTrue(first <= SystemMemory.total() * 2, "available " + first + " against total " + SystemMemory.total());
        if (fresh) {
            assertEquals(first, again, "read again within FRESH_NANOS: the kept figure");
        }
    }

    @Test
    void shouldKeepReadingTheFileAfterAReadOnAnInterruptedThread() {
        SystemMemory.forget();
        Thread.currentThread().interrupt();
        long figure;
        try {
            figure = SystemMemory.available();
        } finally {
            Thread.interrupted(); // clear the flag for the tests after this one
        }
        assertTrue(figure > 0, "available " + figure);
        assertTrue(SystemMemory.readsMeminfo(), "an interrupt must not close the file for good");
        SystemMemory.forget();
        assertTrue(SystemMemory.available() > 0);
        assertTrue(SystemMemory.readsMeminfo());
    }
}
