package org.platformmemory.api.internal;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;

/**
 * What the operating system says about memory: available and total bytes (container-aware).
 *
 * <p>The available figure is asked for often (a game's {@code Alloc} samples it at every new high of its
 * memory; wwmem.h does so every 1024th call while memory grows), so it is read from Linux's
 * {@code /proc/meminfo} through a file kept open, into a buffer kept, without a regular expression or a
 * string per line, and kept for {@link #FRESH_NANOS}: the kernel's figure is an estimate that moves all
 * the time, and reading it took 30-100 us (a file opened, read and split per call), which the C++ client
 * paid thousands of times a run. The file is a {@link RandomAccessFile}, not a channel: a channel is closed
 * by a read on a thread whose interrupt flag is set. A read that fails drops the file, and the next read
 * opens it again; only a system without the file falls back to the JDK's free-memory figure for good.
 * Thread-safe.
 */
public final class SystemMemory {

    /** How long an available figure is used before it is read again: 10 ms. */
    static final long FRESH_NANOS = 10_000_000L;

    private static final byte[] KEY = "MemAvailable:".getBytes(StandardCharsets.US_ASCII);

    private static final Object LOCK = new Object();
    // guarded by LOCK
    private static RandomAccessFile meminfo;
    private static boolean noMeminfo;
    private static final byte[] TEXT = new byte[8192];
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

    /** Whether the figure comes from /proc/meminfo through the kept file (it is open). For tests. */
    static boolean readsMeminfo() {
        synchronized (LOCK) {
            return !noMeminfo && meminfo != null;
        }
    }

    /** The machine's (or container's) total memory. */
    public static long total() {
        return bean().getTotalMemorySize();
    }

    private static com.sun.management.OperatingSystemMXBean bean() {
        return (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    }

    // MemAvailable in bytes, or -1 where there is none (now); under LOCK
    private static long readAvailable() {
        if (noMeminfo) {
            return -1;
        }
        try {
            if (meminfo == null) {
                meminfo = new RandomAccessFile("/proc/meminfo", "r");
            }
            meminfo.seek(0); // the file is generated afresh on each read from offset 0; it fits the buffer
            int length = 0;
            for (int got; length < TEXT.length && (got = meminfo.read(TEXT, length, TEXT.length - length)) > 0; ) {
                length += got;
            }
            return parseAvailable(TEXT, length);
        } catch (FileNotFoundException e) {
            noMeminfo = true; // no such file here: the JDK's figure from now on
            return -1;
        } catch (IOException | RuntimeException e) {
            forgetFile(); // opened again on the next read
            return -1;
        }
    }

    private static void forgetFile() {
        try {
            if (meminfo != null) {
                meminfo.close();
            }
        } catch (IOException ignored) {
            // it goes either way
        }
        meminfo = null;
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
