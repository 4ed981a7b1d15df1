package org.platformmemory.api.internal;

import org.platformmemory.api.Tracking;
import org.platformmemory.api.contract.RecordingErrorHandler;

/** The facade's rooms wired together as TrackedAllocator wires them, without the facade. */
final class Rooms {

    final RecordingErrorHandler handler = new RecordingErrorHandler();
    final ErrorReporter errors = new ErrorReporter();
    final BlockHeader header;
    final TagTable tags;
    final LiveBlockSet blocks;
    final Accounting accounting;
    final TestBackend raw;
    final CheckedBackend backend;
    final Tracker tracker;
    final HeapRegistry heaps = new HeapRegistry();
    final Quarantine quarantine;
    final PointerDiagnosis diagnosis;
    final BlockRelease release;
    final BlockPlacement placement;

    Rooms(Tracking mode, long limit, TestBackend raw) {
        this(mode, limit, raw, 0);
    }

    /** With a debug quarantine of {@code quarantineBytes} (debug mode only; 0: none). */
    Rooms(Tracking mode, long limit, TestBackend raw, long quarantineBytes) {
        errors.setHandler(handler);
        this.header = new BlockHeader(mode);
        this.blocks = new LiveBlockSet(8, header::size);
        this.accounting = new Accounting(limit, errors);
        this.raw = raw;
        this.backend = new CheckedBackend(raw, errors);
        this.tracker = Tracker.of(mode, header, errors);
        this.quarantine = new Quarantine(quarantineBytes, Quarantine.DEFAULT_BLOCKS, header, backend, tracker, errors);
        this.diagnosis = new PointerDiagnosis(blocks, header, errors, quarantine);
        this.tags = new TagTable(errors, accounting.totals(blocks));
        this.release = new BlockRelease(blocks, header, accounting, errors, tracker, backend, heaps, diagnosis,
            quarantine, tags);
        this.placement = new BlockPlacement(blocks, header, accounting, errors, tracker, backend, heaps, release,
            tags);
    }

    /** A 16-byte-aligned block of {@code size} bytes outside any heap, with no flags. */
    long place(long size) {
        return placement.place(null, size, 0, BlockPlacement.MIN_ALIGNMENT_LOG2, SiteTable.NONE);
    }

    /** A 16-byte-aligned block of {@code size} bytes in {@code heap}. */
    long place(HeapRecord heap, long size) {
        return placement.place(heap, size, 0, BlockPlacement.MIN_ALIGNMENT_LOG2, SiteTable.NONE);
    }
}
