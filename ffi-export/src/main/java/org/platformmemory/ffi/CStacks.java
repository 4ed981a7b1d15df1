package org.platformmemory.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.platformmemory.api.TrackedAllocator;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The names of the call stacks the shim records (tracking {@code leaks} and {@code debug}, and sampled
 * allocations): the shim keeps each distinct stack once and passes its number with the call; the facade
 * asks for a name only when a report needs one, through the shim's {@code stack_describe} service, which
 * resolves the frames (function, and file:line where there is debug information). Thread-safe.
 */
final class CStacks {

    /** The shim's services this class calls, in the order PM_SERVICES lists them after the caches' ones. */
    static final List<Map.Entry<String, FunctionDescriptor>> SERVICES = List.of(
        Map.entry("stackDescribe", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG)));

    /** The most text one stack's description takes: 64 frames of long C++ names. */
    private static final int TEXT = 64 << 10;

    private final long address;
    private volatile MethodHandle describe;

    private CStacks(long address) {
        this.address = address;
    }

    /** Makes {@code memory} name the shim's stacks through the service at {@code services}' address. */
    static void nameFor(TrackedAllocator memory, Map<String, Long> services) {
        Long at = services.get("stackDescribe");
        if (at != null) {
            CStacks stacks = new CStacks(at);
            memory.nameStacksWith(stacks::name);
        }
    }

    /**
     * The name of stack {@code id}: the shim's lines are its frames, the caller's first, and a last line
     * {@code @file:line} when the call gave one ({@code Platform_Alloc_Dbg}); null for an unknown stack.
     */
    String name(int id) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(TEXT);
            long length = (long) handle().invokeExact(id, text.address(), (long) TEXT);
            if (length <= 0) {
                return null;
            }
            return parse(text.getString(0));
        } catch (Throwable t) {
            return null; // a report names the stack by number instead
        }
    }

    /** A stack's name from the shim's text ({@link #name}). */
    static String parse(String text) {
        List<String> frames = new ArrayList<>();
        String file = null;
        int line = 0;
        for (String frame : text.split("\n")) {
            if (frame.startsWith("@")) {
                int colon = frame.lastIndexOf(':');
                boolean numbered = colon > 1 && frame.substring(colon + 1).chars().allMatch(Character::isDigit)
                    && colon + 1 < frame.length();
                file = numbered ? frame.substring(1, colon) : frame.substring(1);
                line = numbered ? Integer.parseInt(frame.substring(colon + 1)) : 0;
            } else if (!frame.isBlank()) {
                frames.add(frame);
            }
        }
        return TrackedAllocator.stackName(frames, file, line);
    }

    private MethodHandle handle() {
        MethodHandle h = describe;
        if (h == null) {
            h = Linker.nativeLinker().downcallHandle(MemorySegment.ofAddress(address), SERVICES.get(0).getValue());
            describe = h;
        }
        return h;
    }
}
