package org.platformmemory.api;

/**
 * Receives every error the facade detects, on the thread that made the failing call. It must not throw
 * (anything it throws is caught and logged) and should return quickly.
 */
@FunctionalInterface
public interface ErrorHandler {
    /**
     * @param error   what went wrong
     * @param message a sentence that names the address, sizes and what was expected
     * @param address the pointer involved, or 0
     */
    void onError(ErrorCode error, String message, long address);
}
