package org.platformmemory.api.jfr;

import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import jdk.jfr.FlightRecorder;
import jdk.jfr.FlightRecorderListener;

import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.FrameStats;
import org.platformmemory.api.TagStats;
import org.platformmemory.api.TrackedAllocator;

/**
 * The allocator's JDK Flight Recorder events: {@code platformmemory.Tag} (periodic, one per tag of every
 * open allocator), {@code platformmemory.Frame} (one per frame mark) and {@code platformmemory.Error} (one
 * per reported error). The facade calls in here with one line each; nothing is built unless a recording
 * has the event enabled.
 *
 * <p>The package is not exported: on registration JFR itself exports and opens an event class's package
 * to {@code jdk.jfr} (the module only {@code requires jdk.jfr}), on the module path as on the class path.
 *
 * <p>Open allocators are held weakly, under one lock that the periodic hook also holds while it reads
 * them, so once {@link #unregister} returns the hook never reads that allocator again, and an allocator
 * nobody closed does not stay reachable through here.
 */
public final class MemoryEvents {

    private static final Object LOCK = new Object();
    /** Open allocators, each with its number; under {@link #LOCK}. */
    private static final Map<TrackedAllocator, Long> OPEN = new WeakHashMap<>();
    private static long opened;
    private static final AtomicBoolean HOOKED = new AtomicBoolean();
    /**
     * Whether the Flight Recorder has been initialized in this JVM. Until it has, no event class is touched:
     * the first use of an event class initializes JFR's metadata (measured: 120 ms for the first frame mark
     * of a C game), a hitch a game must not get from a frame mark or an error when nothing records.
     */
    private static volatile boolean recorder;

    private MemoryEvents() {
    }

    /** Makes {@code allocator}'s tags part of the periodic {@code platformmemory.Tag} events. */
    public static void register(TrackedAllocator allocator) {
        synchronized (LOCK) {
            OPEN.put(allocator, ++opened);
        }
        if (!HOOKED.getAndSet(true)) {
            listen(); // outside LOCK: JFR may call back into addPeriodic on this thread
        }
    }

    /**
     * Stops {@code allocator}'s tag events, after one last round with its figures as it closes (when a
     * recording wants them: a run shorter than the period still has them; without a recorder no event
     * class is touched). When this returns no periodic run reads it any more. Never throws.
     */
    public static void unregister(TrackedAllocator allocator) {
        synchronized (LOCK) {
            Long number = OPEN.remove(allocator);
            if (number != null && recorder && new TagEvent().isEnabled()) {
                try {
                    emitTags(allocator, number);
                } catch (RuntimeException e) {
                    // the close goes on without its last events
                }
            }
        }
    }

    /** The number {@code allocator} was registered with, or 0 (for tests). */
    static long numberOf(TrackedAllocator allocator) {
        synchronized (LOCK) {
            return OPEN.getOrDefault(allocator, 0L);
        }
    }

    /** Whether the allocator registered as {@code number} is still registered (for tests). */
    static boolean isRegistered(long number) {
        synchronized (LOCK) {
            return OPEN.containsValue(number);
        }
    }

    /**
     * Adds the periodic hook once the recorder is initialized: at once when it already is (a JVM started
     * with {@code -XX:StartFlightRecording}), else when something starts it later ({@code jcmd JFR.start}, a
     * {@code Recording}). Registering a periodic event initializes much of JFR (hundreds of milliseconds
     * on a busy machine); a listener costs a few classes, so a process that never records pays next to nothing.
     */
    private static void listen() {
        try {
            FlightRecorder.addListener(new FlightRecorderListener() {
                @Override
                public void recorderInitialized(FlightRecorder initialized) {
                    recorder = true;
                    addPeriodic();
                }
            });
        } catch (RuntimeException | LinkageError e) {
            // no Flight Recorder in this runtime: the allocator works without events
        }
    }

    private static void addPeriodic() {
        try {
            FlightRecorder.addPeriodicEvent(TagEvent.class, MemoryEvents::emitTags);
        } catch (RuntimeException | LinkageError e) {
            // JFR refused the hook: no tag events, nothing else changes
        }
    }

    /** The periodic hook: runs on JFR's periodic thread, so it never throws. */
    private static void emitTags() {
        try {
            synchronized (LOCK) {
                for (Map.Entry<TrackedAllocator, Long> open : OPEN.entrySet()) {
                    TrackedAllocator allocator = open.getKey();
                    if (allocator != null) {
                        emitTags(allocator, open.getValue());
                    }
                }
            }
        } catch (Throwable t) {
            // one bad read must not disturb the recorder's thread; the next period tries again
        }
    }

    private static void emitTags(TrackedAllocator allocator, long number) {
        String backend = allocator.backendName();
        for (TagStats t : allocator.insights().tagStats()) {
            TagEvent e = new TagEvent();
            e.allocator = number;
            e.backend = backend;
            e.tagId = t.id();
            e.tag = t.name();
            e.liveBytes = t.liveBytes();
            e.liveBlocks = t.liveBlocks();
            e.peakBytes = t.peakBytes();
            e.allocations = t.allocations();
            e.frees = t.frees();
            e.softBudget = t.softBudget();
            e.hardBudget = t.hardBudget();
            e.commit();
        }
    }

    /** Commits a {@code platformmemory.Frame} event for {@code frame} if a recording wants it. */
    public static void frame(TrackedAllocator allocator, FrameStats frame) {
        if (!recorder) {
            return;
        }
        FrameEvent e = new FrameEvent();
        if (!e.shouldCommit()) {
            return;
        }
        e.backend = allocator.backendName();
        e.number = frame.number();
        e.allocations = frame.allocations();
        e.frees = frame.frees();
        e.bytesAllocated = frame.bytesAllocated();
        e.bytesFreed = frame.bytesFreed();
        e.peakLiveBytes = frame.peakLiveBytes();
        e.liveBytesAtEnd = frame.liveBytesAtEnd();
        e.commit();
    }

    /** Commits a {@code platformmemory.Error} event if a recording wants it. Never throws. */
    public static void error(ErrorCode code, String message, long address) {
        if (!recorder) {
            return;
        }
        try {
            ErrorEvent e = new ErrorEvent();
            if (!e.shouldCommit()) {
                return;
            }
            e.code = code.name();
            e.message = message;
            e.address = address;
            e.commit();
        } catch (RuntimeException e) {
            // an event is never worth failing the report
        }
    }
}
