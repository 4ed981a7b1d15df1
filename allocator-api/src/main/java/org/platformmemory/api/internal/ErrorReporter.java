package org.platformmemory.api.internal;

import java.util.HexFormat;
import java.util.concurrent.atomic.LongAdder;

import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.ErrorHandler;

/**
 * Where every error the facade finds goes: counted (caller errors only), logged, then handed to the
 * {@link ErrorHandler}, whose own failures are caught so that a report never fails the call.
 *
 * <p>Thread-safe; {@link #report} allocates only for the log record and the handler's message, which
 * exist only when something went wrong.
 */
public final class ErrorReporter {

    private static final System.Logger LOG = System.getLogger("org.platformmemory");

    private final LongAdder callerErrors = new LongAdder();
    private volatile ErrorHandler handler;

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
        if (error.isCallerError()) {
            callerErrors.increment();
        }
        System.Logger.Level level = error.isCallerError() || error == ErrorCode.BACKEND_FAILURE
            ? System.Logger.Level.WARNING : System.Logger.Level.INFO;
        LOG.log(level, "platform-memory " + error + ": " + message);
        ErrorHandler h = handler;
        if (h != null) {
            try {
                h.onError(error, message, address);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.WARNING, "platform-memory: the error handler threw " + t);
            }
        }
    }

    /** Reports a call made after the allocator was closed ({@link ErrorCode#CLOSED}); returns 0 for the caller to return. */
    public long rejectClosed(String op) {
        report(ErrorCode.CLOSED, op + ": the allocator is closed", 0);
        return 0;
    }

    /** Logs something worth knowing that is not an error (such as blocks still live at close). */
    public void inform(String message) {
        LOG.log(System.Logger.Level.INFO, "platform-memory: " + message);
    }

    /** An address as messages write it: {@code 0x7f12345670}. */
    public static String hex(long address) {
        return "0x" + HexFormat.of().toHexDigits(address).replaceFirst("^0{1,12}", "");
    }
}
