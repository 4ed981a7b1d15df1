package org.platformmemory.api.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.InvalidConfigException;
import org.platformmemory.api.LogLevel;
import org.platformmemory.api.TrackedAllocator;
import org.platformmemory.api.contract.RecordingErrorHandler;
import org.platformmemory.api.contract.RecordingErrorHandler.Report;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ErrorReporterTest {

    private final ErrorReporter errors = new ErrorReporter();
    private final RecordingErrorHandler handler = new RecordingErrorHandler();

    @Test
    void shouldHandTheHandlerTheExactErrorMessageAndAddress() {
        errors.setHandler(handler);
        errors.report(ErrorCode.DOUBLE_FREE, "free(0x1000): already freed", 0x1000);
        errors.report(ErrorCode.BACKEND_FAILURE, "backend threw", 0);
        assertEquals(List.of(new Report(ErrorCode.DOUBLE_FREE, "free(0x1000): already freed", 0x1000),
            new Report(ErrorCode.BACKEND_FAILURE, "backend threw", 0)), handler.reports());
    }

    @Test
    void shouldCountOnlyTheCallersErrors() {
        for (ErrorCode error : ErrorCode.values()) {
            errors.report(error, "x", 0);
        }
        assertEquals(ErrorCode.values().length - 4, errors.callerErrors(),
            "every code but ALLOCATION_FAILED, BACKEND_FAILURE, BUDGET and BREAK_ALLOC");
        errors.report(ErrorCode.ALLOCATION_FAILED, "x", 0);
        errors.report(ErrorCode.BACKEND_FAILURE, "x", 0);
        assertEquals(ErrorCode.values().length - 4, errors.callerErrors(), "neither of those two counts");
    }

    @Test
    void shouldNeverThrowWhenTheHandlerThrowsAndStillCountTheError() {
        errors.setHandler((error, message, address) -> {
            throw new StackOverflowError("handler boom");
        });
        assertDoesNotThrow(() -> errors.report(ErrorCode.INVALID_POINTER, "bad", 0x20));
        assertDoesNotThrow(() -> errors.rejectClosed("free"));
        assertEquals(2, errors.callerErrors());
    }

    @Test
    void shouldTellNoOneOnceTheHandlerIsRemoved() {
        errors.setHandler(handler);
        errors.report(ErrorCode.SIZE_MISMATCH, "one", 0);
        errors.setHandler(null);
        errors.report(ErrorCode.SIZE_MISMATCH, "two", 0);
        errors.inform("only logged");
        assertEquals(1, handler.reports().size());
        assertEquals(2, errors.callerErrors(), "counted with or without a handler");
    }

    @Test
    void shouldRejectACallAfterCloseAsClosedAndReturnZero() {
        errors.setHandler(handler);
        assertEquals(0, errors.rejectClosed("reallocate"));
        assertEquals(List.of(new Report(ErrorCode.CLOSED, "reallocate: the allocator is closed", 0)), handler.reports());
        assertEquals(1, errors.callerErrors());
    }

    @Test
    void shouldWriteAddressesInHexWithoutTheLeadingZeros() {
        assertEquals("0x7f12345670", ErrorReporter.hex(0x7f12345670L));
        assertEquals("0x10020", ErrorReporter.hex(0x10020L));
        assertEquals("0xffff800000000000", ErrorReporter.hex(0xffff800000000000L));
    }

    @Test
    void shouldCountEveryErrorWhenTwoThreadsReportAtOnce() throws Exception {
        errors.setHandler(handler);
        CyclicBarrier start = new CyclicBarrier(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> done = List.of(pool.submit(() -> burst(start, ErrorCode.DOUBLE_FREE)),
                pool.submit(() -> burst(start, ErrorCode.ALLOCATION_FAILED)));
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(2_000, errors.callerErrors());
        assertEquals(4_000, handler.reports().size());
        assertEquals(2_000, handler.errors().stream().filter(e -> e == ErrorCode.ALLOCATION_FAILED).count());
    }

    @Test
    void shouldSendInformationalLinesToTheSinkOnlyWhenVerbose() {
        List<String> lines = new ArrayList<>();
        errors.logTo(lines::add);
        errors.setHandler(handler);
        for (LogLevel level : LogLevel.values()) {
            errors.setLevel(level);
            errors.inform("at " + level);
            errors.report(ErrorCode.DOUBLE_FREE, "at " + level, 0x40); // the handler's, never the sink's
        }
        assertEquals(List.of("at VERBOSE"), lines);
        assertEquals(3, handler.reports().size(), "the handler hears every error whatever the level");
    }

    @Test
    void shouldTakeTheLevelFromTheLogOptionAndRefuseAnUnknownOne() {
        try (TrackedAllocator quiet = TrackedAllocator.open(AllocatorConfig.parse("backend=system;log=quiet"));
             TrackedAllocator plain = TrackedAllocator.open(AllocatorConfig.parse("backend=system"))) {
            assertEquals(LogLevel.QUIET, quiet.logLevel());
            assertEquals(LogLevel.ERRORS, plain.logLevel(), "errors is the default");
        }
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
            () -> TrackedAllocator.open(AllocatorConfig.parse("backend=system;log=loud")));
        assertTrue(e.getMessage().contains("allocator.log") && e.getMessage().contains("quiet, errors, verbose"),
            e.getMessage());
    }

    @Test
    void shouldNameTheSiteOfTheBlockAWrongSizeWasGivenForWhenSitesAreRecorded() {
        for (String tracking : List.of("leaks", "counters")) {
            RecordingErrorHandler seen = new RecordingErrorHandler();
            try (TrackedAllocator memory = TrackedAllocator.open(AllocatorConfig.parse("backend=system;tracking=" + tracking))) {
                memory.setErrorHandler(seen);
                int site = memory.site("level.c", 77);
                long p = memory.allocate(100, 0, 16, site);
                memory.free(p, 99);
            }
            assertEquals(List.of(ErrorCode.SIZE_MISMATCH), seen.errors(), tracking);
            String message = seen.reports().get(0).message();
            assertEquals(tracking.equals("leaks"), message.endsWith("; allocated at level.c:77, allocation #1"),
                tracking + ": " + message);
        }
    }

    private Void burst(CyclicBarrier start, ErrorCode error) throws Exception {
        start.await(10, TimeUnit.SECONDS);
        for (int i = 0; i < 2_000; i++) {
            errors.report(error, "burst " + i, i);
        }
        return null;
    }
}
