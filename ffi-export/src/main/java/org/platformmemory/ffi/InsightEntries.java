package org.platformmemory.ffi;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import org.platformmemory.api.FrameStats;
import org.platformmemory.api.Insights;
import org.platformmemory.api.SnapshotDiff;
import org.platformmemory.api.TagStats;
import org.platformmemory.api.TrackedAllocator;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The call table's insights entries ({@code Platform_Mem_PushTag}, {@code FrameMark}, {@code Snapshot}...)
 * onto the facade's {@link Insights}. The shim keeps each C thread's tag stack and forbidden flag itself
 * (pm_tags.c): it asks for a name's id once ({@link #tagId}) and tells the facade a thread's mode before
 * a call that may allocate here ({@link #setMode}). Each entry catches everything: no exception reaches
 * the C caller.
 */
final class InsightEntries {

    /** {@code sizeof(PlatformMemTagStats)}: a 64-byte name and eight 64-bit figures (checked at install). */
    static final long TAG_STATS_SIZE = 64 + 8 * 8;
    /** The forbidden flag in the shim's thread mode (PM_MODE_FORBID). */
    static final int MODE_FORBID = 1 << 16;
    /** Bytes of a tag name in {@code PlatformMemTagStats}, its terminating zero included. */
    static final int NAME_BYTES = 64;

    private InsightEntries() {
    }

    private static String cString(long address) {
        return address == 0 ? "" : MemorySegment.ofAddress(address).reinterpret(Integer.MAX_VALUE).getString(0);
    }

    /** A tag name's id, made on first use; 0 when every id is taken (reported). */
    static int tagId(long name) {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m == null ? 0 : m.insights().tagId(cString(name));
        } catch (Throwable t) {
            return (int) NativeExports.internalError("Platform_Mem_PushTag", t);
        }
    }

    /** The calling thread's tag (bits 0-7) and forbidden flag (bit 16), as the shim keeps them. */
    static void setMode(int mode) {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m != null) {
                m.insights().adoptThreadTag(mode & 0xFF, (mode & MODE_FORBID) != 0);
            }
        } catch (Throwable t) {
            NativeExports.internalError("Platform_Mem_PushTag", t);
        }
    }

    static int setTagBudget(long name, long soft, long hard) {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m == null || name == 0 ? -1 : m.insights().setTagBudget(cString(name), soft, hard);
        } catch (Throwable t) {
            NativeExports.internalError("Platform_Mem_SetTagBudget", t);
            return -1;
        }
    }

    static long tagStats(long out, long capacity) {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m == null) {
                return 0;
            }
            List<TagStats> tags = m.insights().tagStats();
            if (out != 0) {
                MemorySegment records = MemorySegment.ofAddress(out).reinterpret(TAG_STATS_SIZE * Math.min(capacity, tags.size()));
                for (int i = 0; i < tags.size() && i < capacity; i++) {
                    TagStats t = tags.get(i);
                    long at = i * TAG_STATS_SIZE;
                    byte[] name = t.name().getBytes(StandardCharsets.UTF_8);
                    int n = Math.min(name.length, NAME_BYTES - 1);
                    MemorySegment.copy(name, 0, records, JAVA_BYTE, at, n);
                    records.asSlice(at + n, NAME_BYTES - n).fill((byte) 0);
                    long[] figures = {t.id(), t.liveBytes(), t.liveBlocks(), t.peakBytes(), t.allocations(), t.frees(),
                        t.softBudget(), t.hardBudget()};
                    for (int k = 0; k < figures.length; k++) {
                        records.set(JAVA_LONG, at + NAME_BYTES + 8L * k, figures[k]);
                    }
                }
            }
            return tags.size();
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_Mem_GetTagStats", t);
        }
    }

    static void frameMark() {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m != null) {
                m.insights().frameMark();
            }
        } catch (Throwable t) {
            NativeExports.internalError("Platform_Mem_FrameMark", t);
        }
    }

    static void frameStats(long out) {
        try {
            TrackedAllocator m = NativeExports.memory();
            FrameStats f = m == null ? new FrameStats(0, 0, 0, 0, 0, 0, 0) : m.insights().lastFrame();
            long[] figures = {f.number(), f.allocations(), f.frees(), f.bytesAllocated(), f.bytesFreed(),
                f.peakLiveBytes(), f.liveBytesAtEnd()};
            MemorySegment record = MemorySegment.ofAddress(out).reinterpret(8L * figures.length);
            for (int k = 0; k < figures.length; k++) {
                record.setAtIndex(JAVA_LONG, k, figures[k]);
            }
        } catch (Throwable t) {
            NativeExports.internalError("Platform_Mem_GetFrameStats", t);
        }
    }

    static long snapshot() {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m == null ? 0 : m.insights().snapshot();
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_Mem_Snapshot", t);
        }
    }

    static int dumpDiff(long from, long to) {
        try {
            TrackedAllocator m = NativeExports.memory();
            SnapshotDiff diff = m == null ? null : m.insights().diff(from, to);
            if (diff == null) {
                return -1;
            }
            System.err.print(diff.text());
            System.err.flush();
            return diff.tags().size() + diff.sites().size();
        } catch (Throwable t) {
            NativeExports.internalError("Platform_Mem_DumpDiff", t);
            return -1;
        }
    }

    static int writeReport(long path) {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m != null && path != 0 && m.insights().writeReport(Path.of(cString(path))) ? 0 : -1;
        } catch (Throwable t) {
            NativeExports.internalError("Platform_Mem_WriteReport", t);
            return -1;
        }
    }
}
