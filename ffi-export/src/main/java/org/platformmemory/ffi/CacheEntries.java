package org.platformmemory.ffi;

import java.lang.foreign.MemorySegment;

import org.platformmemory.api.BlockSupply;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.TrackedAllocator;

/**
 * The call table's entries for the shim's per-thread caches (pm_cache.c): lending and taking back
 * blocks, the facade's answer for pointers no cache knows, and errors the fast path found. Each is an
 * FFM upcall target ({@link NativeExports} builds the table) and catches everything.
 */
final class CacheEntries {

    private CacheEntries() {
    }

    static int cacheRefill(long blockSize, long out, int count) {
        try {
            ShimCache c = NativeExports.cache();
            return c != null ? c.supply().lend(blockSize, out, count) : 0;
        } catch (Throwable t) {
            return (int) NativeExports.internalError("a cache refill", t);
        }
    }

    static void cacheRelease(long blockSize, long in, int count) {
        try {
            ShimCache c = NativeExports.cache();
            if (c != null) {
                c.supply().takeBack(blockSize, in, count);
            }
        } catch (Throwable t) {
            NativeExports.internalError("a cache release", t);
        }
    }

    /** BlockSupply.freeIfLive for a pointer no cache knows: FREED (0), UNKNOWN (1) or KNOWN (3). */
    static long freeIfLive(long ptr, long size) {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m == null) {
                NativeExports.closed("Platform_Free");
                return BlockSupply.FREED;
            }
            return m.supply().freeIfLive(ptr, size);
        } catch (Throwable t) {
            NativeExports.internalError("Platform_Free", t);
            return BlockSupply.FREED;
        }
    }

    /** BlockSupply.reallocateIfLive for a pointer no cache knows. */
    static long reallocIfLive(long ptr, long oldSize, long newSize) {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m != null ? m.supply().reallocateIfLive(ptr, oldSize, newSize) : NativeExports.closed("Platform_Realloc");
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_Realloc", t);
        }
    }

    /** An error the shim found on its fast path: counted, logged and told like the facade's own. */
    static void report(int code, long message, long ptr) {
        try {
            TrackedAllocator m = NativeExports.memory();
            String text = MemorySegment.ofAddress(message).reinterpret(4096).getString(0);
            ErrorCode error = ErrorCode.of(code);
            if (m != null && error != null) {
                m.reportError(error, text, ptr);
            } else {
                NativeExports.reportToC(code, text, ptr);
            }
        } catch (Throwable t) {
            NativeExports.internalError("an error report", t);
        }
    }
}
