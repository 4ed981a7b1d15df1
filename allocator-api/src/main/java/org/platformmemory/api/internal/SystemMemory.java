package org.platformmemory.api.internal;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the operating system says about memory: available and total bytes (container-aware). */
public final class SystemMemory {

    private SystemMemory() {
    }

    /** Bytes the system could still give: Linux's MemAvailable, else the JDK's free-memory figure. */
    public static long available() {
        long available = meminfo("MemAvailable:");
        return available > 0 ? available : bean().getFreeMemorySize();
    }

    /** The machine's (or container's) total memory. */
    public static long total() {
        return bean().getTotalMemorySize();
    }

    private static com.sun.management.OperatingSystemMXBean bean() {
        return (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    }

    /** A figure from /proc/meminfo in bytes, or -1 where there is none. */
    private static long meminfo(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith(key)) {
                    String[] parts = line.substring(key.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
