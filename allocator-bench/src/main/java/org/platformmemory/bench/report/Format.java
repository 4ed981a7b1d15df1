package org.platformmemory.bench.report;

import java.util.Locale;

/** Number formats shared by the table, the CSV file and the HTML report. */
final class Format {

    private Format() {
    }

    /** @return ns with three significant figures ("41.2", "1.30 µs" is left to the reader: always ns) */
    static String nanos(double ns) {
        if (!Double.isFinite(ns)) {
            return "-";
        }
        if (ns >= 100_000) {
            return String.format(Locale.ROOT, "%.0f", ns);
        }
        return ns >= 100 ? String.format(Locale.ROOT, "%.0f", ns) : String.format(Locale.ROOT, "%.1f", ns);
    }

    /** @return ns as milliseconds: one decimal below 100 ms, none above */
    static String millis(double ns) {
        if (!Double.isFinite(ns)) {
            return "-";
        }
        double ms = ns / 1e6;
        return ms >= 100 ? String.format(Locale.ROOT, "%.0f", ms) : String.format(Locale.ROOT, "%.1f", ms);
    }

    /** @return ns as milliseconds with two or three significant figures, down to 0.0001 ms (100 ns) */
    static String millisPrecise(double ns) {
        if (!Double.isFinite(ns)) {
            return "-";
        }
        double ms = ns / 1e6;
        String format = ms >= 100 ? "%.0f" : ms >= 10 ? "%.1f" : ms >= 1 ? "%.2f" : ms >= 0.1 ? "%.3f" : "%.4f";
        return String.format(Locale.ROOT, format, ms);
    }

    /** @return millions with two decimals */
    static String millions(double value) {
        return Double.isFinite(value) ? String.format(Locale.ROOT, "%.2f", value / 1e6) : "-";
    }

    /** @return a ratio with two decimals and an x */
    static String ratio(double value) {
        return Double.isFinite(value) ? String.format(Locale.ROOT, "%.2fx", value) : "-";
    }

    /** @return ±percent of a spread, or "" for one run */
    static String plusMinus(Spread s) {
        return s.runs() > 1 ? String.format(Locale.ROOT, "±%.0f%%", 100 * s.relativeSpread()) : "";
    }

    /** @return a plain decimal for machine-readable output; empty for NaN */
    static String plain(double value) {
        return Double.isFinite(value) ? String.format(Locale.ROOT, "%.4g", value) : "";
    }

    /** A size in MiB with one decimal and its spread as {@code (min-max)} over more than one run, or "-". */
    static String mebibytes(Spread s) {
        if (!s.present()) {
            return "-";
        }
        return s.runs() > 1 ? String.format(java.util.Locale.ROOT, "%.1f (%.1f-%.1f)", s.median(), s.min(), s.max())
            : String.format(java.util.Locale.ROOT, "%.1f", s.median());
    }
}
