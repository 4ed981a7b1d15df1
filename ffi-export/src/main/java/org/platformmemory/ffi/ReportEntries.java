package org.platformmemory.ffi;

import org.platformmemory.api.TrackedAllocator;

/**
 * The call table's entries that read the facade rather than change it: the heap check
 * ({@code Platform_Mem_CheckHeap}), the leak report ({@code Platform_Mem_DumpLeaks}) and the single
 * figures of {@code Platform_Mem_Get*}. Each catches everything: no exception reaches the C caller.
 */
final class ReportEntries {

    private ReportEntries() {
    }

    static int checkHeap() {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m == null ? 0 : m.checkHeap();
        } catch (Throwable t) {
            return (int) NativeExports.internalError("Platform_Mem_CheckHeap", t);
        }
    }

    static long dumpLeaks() {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m == null) {
                return 0;
            }
            System.err.print(m.leakReport());
            System.err.flush();
            return m.liveBlocks();
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_Mem_DumpLeaks", t);
        }
    }

    /** One figure, by the shim's PM_STAT_* id (checked at install): no allocation (counters read in place). */
    static long stat(int which) {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m == null) {
                return 0;
            }
            return switch (which) {
                case AbiContract.STAT_LIVE_BYTES -> m.liveBytes();
                case AbiContract.STAT_PEAK_BYTES -> m.peakBytes();
                case AbiContract.STAT_LIVE_BLOCKS -> m.liveBlocks();
                case AbiContract.STAT_RAM_FREE -> m.ramFree();
                case AbiContract.STAT_RAM_TOTAL -> m.ramTotal();
                case AbiContract.STAT_MAPPED -> m.mappedBytes();
                case AbiContract.STAT_RESIDENT -> m.residentBytes();
                default -> 0;
            };
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_Mem_Get*", t);
        }
    }
}
