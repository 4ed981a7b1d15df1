package org.platformmemory.api.internal;

import java.util.HexFormat;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.LongFunction;

import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.ErrorHandler;
import org.platformmemory.api.LogLevel;

/**
 * Where every error the facade finds goes: counted (caller errors only), logged, then handed to the
 * {@link ErrorHandler}, whose own failures are caught so that a report never fails the call.
 *
 * <p>What is logged follows the {@link LogLevel} ({@code allocator.log}): to {@code System.Logger}
 * ({@code org.platformmemory}) unless a sink is set ({@link #logTo}); the C boundary sets one, prints the
 * errors its handler gets itself, and so receives only the informational lines. When sites are recorded
 * (tracking {@code leaks} or {@code debug}), a message about a live block ends with its allocation site
 * and number.
 *
 * <p>Thread-safe; {@link #report} allocates only for the log record and the handler's message, which
 * exist only when something went wrong.
 */
public final class ErrorReporter {

    /** The System.Logger, found on first use: a C host sends every line to its sink and never needs one. */
    private static final class Log {
        static final System.Logger LOG = System.getLogger("org.platformmemory");
    }

    private final LongAdder callerErrors = new LongAdder();
    private volatile ErrorHandler handler;
    private volatile LogLevel level = LogLevel.ERRORS;
    /** Where informational lines go instead of System.Logger; while set, errors are not logged here. */
    private volatile Consumer<String> sink;
    /** The allocation site of a live block, or null (no site recorded, or not a live block). */
    private volatile LongFunction<String> siteOf = address -> null;
    /** The allocation site of a block the reporting call holds (claimed, not yet released), or null. */
    private volatile LongFunction<String> heldSiteOf = address -> null;

    /** Sets what is logged. */
    public void setLevel(LogLevel level) {
        this.level = level;
    }

    /** What is logged. */
    public LogLevel level() {
        return level;
    }

    /**
     * Sends informational lines ({@link LogLevel#VERBOSE}) to {@code sink} instead of System.Logger, and
     * stops logging errors here: whoever sets a sink prints the errors its {@link ErrorHandler} gets.
     * {@code null} goes back to System.Logger.
     */
    public void logTo(Consumer<String> sink) {
        this.sink = sink;
    }

    /**
     * Names live blocks' allocation sites and numbers in messages about them: the record in the header of a
     * block that is live when the error is reported (read under the live set's lock, so the block cannot
     * be freed meanwhile).
     */
    public void lookUpSites(LiveBlockSet blocks, BlockHeader header, Tracker tracker) {
        this.siteOf = address -> {
            long[] record = {0};
            long id = blocks.readIfLive(address, user -> {
                record[0] = header.number(user);
                return header.site(user);
            }, Long.MIN_VALUE);
            return id == Long.MIN_VALUE ? null : origin(tracker.sites.nameOf((int) id), record[0]);
        };
        this.heldSiteOf = address -> origin(tracker.sites.nameOf(header.site(address)), header.number(address));
    }

    /**
     * "allocated at SITE, allocation #N" for a block's record; null when it names nothing ("(C caller, no
     * file:line)" and the like) and has no number.
     */
    public static String origin(String site, long number) {
        boolean named = site != null && !site.startsWith("(");
        if (!named && number <= 0) {
            return null;
        }
        return (named ? "allocated at " + site : "allocated") + (number > 0 ? ", allocation #" + number : "");
    }
    /** Sets the handler told about every error, or removes it with {@code null}. */
    public void setHandler(ErrorHandler handler) {
        this.handler = handler;
    }

    /** Errors counted so far that were the caller's ({@link ErrorCode#isCallerError()}). */
    public long callerErrors() {
        return callerErrors.sum();
    }

    /**
     * Counts, logs and hands on one error. Never throws.
     *
     * @param address the pointer involved, or 0
     */
    public void report(ErrorCode error, String message, long address) {
        report(error, message, address, siteOf);
    }

    /**
     * {@link #report} about a block the calling operation holds: claimed from the live set and not yet
     * released (a wrong size on free, damaged guards), so its header may be read for its site.
     */
    public void reportHeld(ErrorCode error, String message, long address) {
        report(error, message, address, heldSiteOf);
    }

    private void report(ErrorCode error, String message, long address, LongFunction<String> sites) {
        if (error.isCallerError()) {
            callerErrors.increment();
        }
        if (address != 0) {
            String origin = siteOf(sites, address);
            if (origin != null) {
                message = message + "; " + origin;
            }
        }
        if (level != LogLevel.QUIET && sink == null) {
            System.Logger.Level record = error.isCallerError() || error == ErrorCode.BACKEND_FAILURE
                ? System.Logger.Level.WARNING : System.Logger.Level.INFO;
            Log.LOG.log(record, "platform-memory " + error + ": " + message);
        }
        org.platformmemory.api.jfr.MemoryEvents.error(error, message, address);
        ErrorHandler h = handler;
        if (h != null) {
            try {
                h.onError(error, message, address);
            } catch (Throwable t) {
                if (level != LogLevel.QUIET) {
                    Log.LOG.log(System.Logger.Level.WARNING, "platform-memory: the error handler threw " + t);
                }
            }
        }
    }

    private static String siteOf(LongFunction<String> sites, long address) {
        try {
            return sites.apply(address);
        } catch (RuntimeException e) {
            return null; // a report never fails for want of a site
        }
    }

    /** Reports a call made after the allocator was closed ({@link ErrorCode#CLOSED}); returns 0 for the caller to return. */
    public long rejectClosed(String op) {
        report(ErrorCode.CLOSED, op + ": the allocator is closed", 0);
        return 0;
    }

    /** Logs something worth knowing that is not an error (such as blocks still live at close), at {@link LogLevel#VERBOSE}. */
    public void inform(String message) {
        if (level != LogLevel.VERBOSE) {
            return;
        }
        Consumer<String> s = sink;
        if (s == null) {
            Log.LOG.log(System.Logger.Level.INFO, "platform-memory: " + message);
            return;
        }
        try {
            s.accept(message);
        } catch (Throwable t) {
            // a log line is never worth failing the call that wrote it
        }
    }

    /** An address as messages write it: {@code 0x7f12345670}. */
    public static String hex(long address) {
        return "0x" + HexFormat.of().toHexDigits(address).replaceFirst("^0{1,12}", "");
    }
}
