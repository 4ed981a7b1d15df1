package org.platformmemory.api;

/** When the leak report of the blocks still live is written by itself ({@code allocator.leakReport}). */
public enum LeakReport {
    /** Never by itself; {@code Platform_Mem_DumpLeaks} and {@link TrackedAllocator#leakReport()} still give it. */
    OFF,
    /** At process exit, on stderr. */
    EXIT
}
