package org.platformmemory.api.contract;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.ErrorHandler;

/** Records every error the facade reports, for assertions. */
public final class RecordingErrorHandler implements ErrorHandler {

    /** One reported error. */
    public record Report(ErrorCode error, String message, long address) {
    }

    private final List<Report> reports = new CopyOnWriteArrayList<>();

    @Override
    public void onError(ErrorCode error, String message, long address) {
        reports.add(new Report(error, message, address));
    }

    public List<Report> reports() {
        return reports;
    }

    /** The errors reported so far, in order. */
    public List<ErrorCode> errors() {
        return reports.stream().map(Report::error).toList();
    }

    /** The last report, or fails. */
    public Report last() {
        if (reports.isEmpty()) {
            throw new AssertionError("no error was reported");
        }
        return reports.getLast();
    }

    public void clear() {
        reports.clear();
    }
}
