package org.platformmemory.api.internal;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * What the operating system says about memory: available and total bytes (container-aware).
 *
 * <p>The available figure is asked for often (a game's {@code Alloc} samples it at every new high of its
 * memory; wwmem.h does so every 1024th call while memory grows), so it is read from Linux's
 * {@code /proc/meminfo} through a channel kept open, into a buffer kept, without a regular expression or a
 * string per line, and kept for {@link #FRESH_NANOS}: the kernel's figure is an estimate that moves all
 * the time, and reading it took 30-100 us (a file opened, read and split per call), which the C++ client
 * paid thousands of times a run. Thread-safe.
 */
public final class SystemMemory {

    /** How long an available figure is used before it is read again: 10 ms. */
    static final long FRESH_NANOS = 10_000_000L;

    private static final byte[] KEY = "MemAvailable:".getBytes(StandardCharsets.US_ASCII);

    private static final Object LOCK = new Object();
    // guarded by LOCK
    private static FileChannel meminfo;
    private static boolean noMeminfo;
    private static final ByteBuffer TEXT = ByteBuffer.allocate(8192);
    private static long readAt;
    private static long lastAvailable = -1;

    private SystemMemory() {
    }

    /** Bytes the system could still give: Linux's MemAvailable, else the JDK's free-memory figure. */
    public static long available() {
        long now = System.nanoTime();
        synchronized (LOCK) {
            if (lastAvailable < 0 || now - readAt >= FRESH_NANOS) {
                long read = readAvailable();
                lastAvailable = read > 0 ? read : bean().getFreeMemorySize();
                readAt = now;
            }
            return lastAvailable;
        }
    }

    /** Drops the kept figure: the next {@link #available} reads the system's. For tests. */
    static void forget() {
        synchronized (LOCK) {
            lastAvailable = -1;
        }
    }

    /** The machine's (or container's) total memory. */
    public static long total() {
        return bean().getTotalMemorySize();
    }

    private static com.sun.management.OperatingSystemMXBean bean() {
        return (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    }

    // MemAvailable in bytes, or -1 where there is none; under LOCK
    private static long readAvailable() {
        if (noMeminfo) {
            return -1;
        }
        try {
            if (meminfo == null) {
                meminfo = FileChannel.open(Path.of("/proc/meminfo"), StandardOpenOption.READ);
            }
            TEXT.clear();
            while (TEXT.hasRemaining() && meminfo.read(TEXT, TEXT.position()) > 0) {
                // the file is generated on each read from offset 0; it fits the buffer
            }
            return parseAvailable(TEXT.array(), TEXT.position());
        } catch (IOException | RuntimeException e) {
            noMeminfo = true;
            return -1;
        }
    }

    /** MemAvailable in bytes from the text of /proc/meminfo ({@code length} bytes), or -1 if it has none. */
    static long parseAvailable(byte[] text, int length) {
        for (int line = 0; line < length; ) {
            if (startsWith(text, line, length)) {
                int i = line + KEY.length;
                while (i < length && text[i] == ' ') {
                    i++;
                }
                long kib = 0;
                int digits = 0;
                for (; i < length && text[i] >= '0' && text[i] <= '9' && digits < 18; i++, digits++) {
                    kib = kib * 10 + (text[i] - '0');
                }
                return digits == 0 ? -1 : kib * 1024;
            }
            while (line < length && text[line] != '\n') {
                line++;
            }
            line++;
        }
        return -1;
    }

    private static boolean startsWith(byte[] text, int at, int length) {
        if (at + KEY.length > length) {
            return false;
        }
        for (int k = 0; k < KEY.length; k++) {
            if (text[at + k] != KEY[k]) {
                return false;
            }
        }
        return true;
    }
}
