package org.platformmemory.bench.report;

import java.util.Arrays;

/**
 * A figure over repeated runs: the median and the range it came from.
 *
 * @param median the median (the mean of the middle two for an even count)
 * @param min    the smallest value
 * @param max    the largest value
 * @param runs   how many values; 0 means "no figure" and the others are NaN
 */
public record Spread(double median, double min, double max, int runs) {

    /** The spread of no values: every figure NaN. */
    public static final Spread NONE = new Spread(Double.NaN, Double.NaN, Double.NaN, 0);

    /** @return the spread of the finite values given (NaN values are left out); {@link #NONE} if none */
    public static Spread of(double... values) {
        double[] v = Arrays.stream(values).filter(Double::isFinite).sorted().toArray();
        if (v.length == 0) {
            return NONE;
        }
        int mid = v.length / 2;
        double median = v.length % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
        return new Spread(median, v[0], v[v.length - 1], v.length);
    }

    /** @return true when this holds a figure */
    public boolean present() {
        return runs > 0;
    }

    /** @return the half-range around the median as a fraction of it ({@code ±x}), 0 for one run */
    public double relativeSpread() {
        return present() && median != 0 ? Math.max(max - median, median - min) / Math.abs(median) : 0;
    }
}
