package org.platformmemory.bench.report;

/**
 * What a subject's process held at one point of the speed run, beyond what it held when its {@code main}
 * began, over the rounds: for a backend, the layer's start (the JVM and the backend) and what it keeps.
 *
 * @param subject the backend or native peer
 * @param kind    {@code backend} or {@code peer}
 * @param point   {@code start} (right after the first call) or {@code end} (after the workloads freed their blocks)
 * @param rssMiB  resident memory added, MiB
 * @param anonMiB anonymous resident memory added, MiB
 */
public record MemoryFigures(String subject, String kind, String point, Spread rssMiB, Spread anonMiB) {

    /** @return the point as the reports name it: "after start", "after workloads" */
    public String label() {
        return point.equals("end") ? "after workloads" : "after " + point;
    }
}
