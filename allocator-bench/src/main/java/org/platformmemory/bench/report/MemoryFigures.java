package org.platformmemory.bench.report;

/**
 * What a subject's process held at one point of the speed run, beyond what it held when its {@code main}
 * began, over the rounds: for a backend, the layer's start (the JVM and the backend) and what it keeps.
 *
 * @param subject the backend or native peer
 * @param kind    {@code backend} or {@code peer}
 * @param point   {@code start} (right after the first call), {@code end} (after the workloads freed their blocks)
 *                or {@code trimmed} (after that, once the subject gave its free memory back)
 * @param rssMiB  resident memory added, MiB
 * @param anonMiB anonymous resident memory added, MiB
 */
public record MemoryFigures(String subject, String kind, String point, Spread rssMiB, Spread anonMiB) {

    /** @return the point as the reports name it: "after start", "after workloads", "after trim" */
    public String label() {
        return switch (point) {
            case "end" -> "after workloads";
            case "trimmed" -> "after trim";
            default -> "after " + point;
        };
    }
}
