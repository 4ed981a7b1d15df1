package org.platformmemory.api.kit;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Memory as the operating system gives it: private anonymous mappings ({@code mmap}), given back whole
 * ({@code munmap}) or page by page ({@code madvise(MADV_DONTNEED)}), resized by the kernel
 * ({@code mremap}), and asked which of their pages are resident ({@code mincore}).
 *
 * <p>A fresh mapping reads as zero and costs address space only: a page becomes resident when it is
 * first written, so a program that asks for 512 MiB and touches half of it holds half of it, and a
 * block that must be zero needs no pass over its bytes. The JDK's {@link Arena#allocate} zeroes every
 * byte instead (a 4 MiB chunk took 13 ms of page faults that way, and 512 MiB over 300 ms).
 *
 * <p>Linux only (x86-64 and other 4 KiB-page systems). The calls are linked on first use, each group in
 * a holder class of its own, so a start that maps nothing links nothing. Thread-safe (stateless).
 * Nothing is checked: callers pass only mappings this class made, or whole pages inside memory they own.
 */
public final class Pages {

    /** The page: what the system maps, discards and counts. */
    public static final long SIZE = 4096;

    /** From this many bytes on, {@link #zero} gives whole pages back instead of writing them: 1 MiB. */
    public static final long ZERO_BY_DISCARD = 1 << 20;

    private static final int PROT_READ = 0x1;
    private static final int PROT_WRITE = 0x2;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final int MADV_DONTNEED = 4;
    private static final int MREMAP_MAYMOVE = 1;
    private static final long MAP_FAILED = -1L;
    // mincore's vector is filled a piece at a time: 64 Ki pages (256 MiB) a call, one 64 KiB buffer
    private static final int MINCORE_PAGES = 1 << 16;

    private Pages() {
    }

    /**
     * A fresh mapping of {@code size} bytes (rounded up to whole pages) whose base is aligned to
     * {@code alignment} (a power of two; a page at least): every byte reads as zero and none is resident.
     *
     * @return its base, or 0 when the system refuses (out of address space or over its commit limit)
     */
    public static long map(long size, long alignment) {
        long bytes = roundUp(size);
        long align = Math.max(alignment, SIZE);
        if (bytes <= 0 || bytes > Long.MAX_VALUE - align) {
            return 0;
        }
        long span = align == SIZE ? bytes : bytes + align - SIZE;
        long raw = Mapping.mmap(span);
        if (raw == MAP_FAILED || raw == 0) {
            return 0;
        }
        if (align == SIZE) {
            return raw;
        }
        // mapped with room to spare: the pages before the aligned base and after its end go back
        long base = (raw + align - 1) & -align;
        if (base > raw) {
            Unmapping.munmap(raw, base - raw);
        }
        long tail = raw + span - (base + bytes);
        if (tail > 0) {
            Unmapping.munmap(base + bytes, tail);
        }
        return base;
    }

    /** Gives back a mapping {@link #map} made of {@code size} bytes (rounded up to pages as there). */
    public static void unmap(long base, long size) {
        Unmapping.munmap(base, roundUp(size));
    }

    /**
     * Resizes a mapping of page alignment from {@code oldSize} to {@code newSize} bytes: in place where
     * the address space after it is free, else moved by the kernel (page tables, not bytes). The bytes it
     * grows by read as zero.
     *
     * @return its (possibly new) base, or 0 with the old mapping intact
     */
    public static long remap(long base, long oldSize, long newSize) {
        long to = roundUp(newSize);
        if (to <= 0) {
            return 0;
        }
        long moved = Remapping.mremap(base, roundUp(oldSize), to);
        return moved == MAP_FAILED ? 0 : moved;
    }

    /**
     * Says the bytes {@code [address, address + length)} are not needed now: every whole page among them
     * goes back to the system (and is zero, and not resident, until written again); the bytes of the
     * pages they share with their neighbours at either end are zeroed instead. The range must lie in
     * private memory the caller owns (a mapping of this class, or a block of the C heap): afterwards
     * every byte of it reads as zero.
     *
     * @return the bytes given back to the system
     */
    public static long discard(long address, long length) {
        if (length <= 0) {
            return 0;
        }
        long end = address + length;
        long first = roundUp(address);
        long last = end & -SIZE;
        if (last - first < SIZE) {
            NativeMemory.fill(address, length, (byte) 0);
            return 0;
        }
        NativeMemory.fill(address, first - address, (byte) 0);
        NativeMemory.fill(last, end - last, (byte) 0);
        return Discarding.madvise(first, last - first, MADV_DONTNEED) == 0 ? last - first : fill(first, last - first);
    }

    /**
     * Zeroes {@code [address, address + length)} of private memory the caller owns (a block of the C heap
     * or of a mapping): a range of {@link #ZERO_BY_DISCARD} bytes or more by giving its whole pages back
     * ({@link #discard}), a smaller one by writing it. A large block of the C heap is mostly a fresh
     * mapping of its own, whose pages are not resident: writing zeros would fault every page in (0.3 s and
     * 512 MiB resident for a 512 MiB block), giving them back costs a walk of empty page tables.
     */
    public static void zero(long address, long length) {
        if (length >= ZERO_BY_DISCARD) {
            discard(address, length);
        } else {
            NativeMemory.fill(address, length, (byte) 0);
        }
    }

    /**
     * A backend's {@code allocateZeroed} from its {@code allocate}: the block at {@code address} (0 when the
     * allocation failed, then nothing is done) {@link #zero}ed over {@code size} bytes.
     *
     * @return {@code address}
     */
    public static long zeroed(long address, long size) {
        if (address != 0) {
            zero(address, size);
        }
        return address;
    }

    // madvise refused (it does not on private memory): the same bytes zeroed by hand
    private static long fill(long address, long length) {
        NativeMemory.fill(address, length, (byte) 0);
        return 0;
    }

    /**
     * Writes the first byte of every page of {@code [base, base + size)} (a zero, so the bytes still read
     * as zero): the pages become resident now, on this thread, instead of on first use.
     */
    public static void touch(long base, long size) {
        for (long page = base; page < base + size; page += SIZE) {
            NativeMemory.putByte(page, (byte) 0);
        }
    }

    /**
     * The bytes of {@code [base, base + size)} (page aligned) that are resident now, or -1 when the
     * system cannot say.
     */
    public static long resident(long base, long size) {
        long pages = roundUp(size) / SIZE;
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment vector = scratch.allocate(Math.min(pages, MINCORE_PAGES));
            long resident = 0;
            for (long done = 0; done < pages; ) {
                int n = (int) Math.min(pages - done, MINCORE_PAGES);
                if (Residency.mincore(base + done * SIZE, n * SIZE, vector.address()) != 0) {
                    return -1;
                }
                for (int i = 0; i < n; i++) {
                    resident += vector.get(ValueLayout.JAVA_BYTE, i) & 1;
                }
                done += n;
            }
            return resident * SIZE;
        }
    }

    /**
     * Links every call this class makes (mmap, munmap, mremap, madvise, mincore) and the call sites that
     * invoke them, by making each call once on two pages of its own: a cold JVM takes milliseconds to link
     * each. For a background thread after the start, so that the first big or cleared block of a game does
     * not pay for it. Idempotent.
     */
    public static void link() {
        long base = map(2 * SIZE, 2 * SIZE);
        if (base == 0) {
            return; // nothing to link with; the calls link on first use
        }
        touch(base, SIZE);
        discard(base, SIZE);
        resident(base, 2 * SIZE);
        long moved = remap(base, 2 * SIZE, 4 * SIZE);
        unmap(moved != 0 ? moved : base, moved != 0 ? 4 * SIZE : 2 * SIZE);
    }

    /** {@code size} rounded up to whole pages (0 or less stays as it is: nothing to map). */
    public static long roundUp(long size) {
        return size <= 0 ? size : (size + SIZE - 1) & -SIZE;
    }

    // mmap: linked on the first mapping. Each call has a holder of its own, so that a start links only
    // what its first block needs (a chunk is mapped, nothing unmapped yet) and a backend that only
    // discards links madvise alone: a downcall costs milliseconds to link in a cold JVM.
    private static final class Mapping {
        private static final MethodHandle MMAP = link("mmap",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));

        static long mmap(long length) {
            try {
                return (long) MMAP.invokeExact(0L, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
            } catch (Throwable t) {
                throw new IllegalStateException("mmap failed", t);
            }
        }
    }

    // munmap: linked on the first unmapping (or the first aligned mapping's trim)
    private static final class Unmapping {
        private static final MethodHandle MUNMAP = link("munmap", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));

        static void munmap(long address, long length) {
            try {
                int ignored = (int) MUNMAP.invokeExact(address, length); // fails only on a range not mapped
            } catch (Throwable t) {
                throw new IllegalStateException("munmap failed", t);
            }
        }
    }

    // mremap: linked on the first resize of a mapping
    private static final class Remapping {
        // variadic after its flags; without MREMAP_FIXED it takes no more arguments
        private static final MethodHandle MREMAP = link("mremap",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT), Linker.Option.firstVariadicArg(4));

        static long mremap(long address, long oldLength, long newLength) {
            try {
                return (long) MREMAP.invokeExact(address, oldLength, newLength, MREMAP_MAYMOVE);
            } catch (Throwable t) {
                throw new IllegalStateException("mremap failed", t);
            }
        }
    }

    // madvise: linked on the first discard
    private static final class Discarding {
        private static final MethodHandle MADVISE = link("madvise", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));

        static int madvise(long address, long length, int advice) {
            try {
                return (int) MADVISE.invokeExact(address, length, advice);
            } catch (Throwable t) {
                throw new IllegalStateException("madvise failed", t);
            }
        }
    }

    private static MethodHandle link(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker linker = Linker.nativeLinker();
        return linker.downcallHandle(linker.defaultLookup().findOrThrow(name), descriptor, options);
    }

    // mincore: linked when residency is first asked for (statistics, not allocation)
    private static final class Residency {
        private static final MethodHandle MINCORE = link("mincore", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));

        static int mincore(long address, long length, long vector) {
            try {
                return (int) MINCORE.invokeExact(address, length, vector);
            } catch (Throwable t) {
                throw new IllegalStateException("mincore failed", t);
            }
        }
    }
}
