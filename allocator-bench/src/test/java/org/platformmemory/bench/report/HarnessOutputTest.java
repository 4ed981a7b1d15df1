package org.platformmemory.bench.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class HarnessOutputTest {

    private static final List<String> GOOD = List.of(
        "pm-bench 1",
        "subject arena",
        "timer rdtscp 10.0",
        "workload pair-64 1 400000 20000000 0 0",
        "samples pair-64 30 31 45",
        "workload frame-mix 1 1000 5000000 2000000 2600000",
        "samples frame-mix 100 200",
        "end");

    @Test
    void shouldReadEveryWorkloadWithItsSamples() {
        HarnessOutput output = HarnessOutput.parse("good", GOOD);

        assertEquals("arena", output.subject());
        assertEquals(10.0, output.timerOverheadNanos());
        assertEquals(2, output.workloads().size());
        HarnessOutput.WorkloadRun pairs = output.workloads().get(0);
        assertEquals("pair-64", pairs.name());
        assertEquals(20_000_000.0, pairs.opsPerSecond(), 1e-6);
        assertArrayEquals(new long[] {30, 31, 45}, pairs.samples());
        assertTrue(Double.isNaN(pairs.memoryOverhead()), "pairs do not measure memory");
        assertEquals(1.3, output.workloads().get(1).memoryOverhead(), 1e-9);
    }

    @Test
    void shouldReadTheProcessMemoryPointsInOrder() {
        List<String> lines = new ArrayList<>(GOOD);
        lines.add(lines.size() - 1, "memory start 62914560 41943040");
        lines.add(lines.size() - 1, "memory end 73400320 -4096");

        HarnessOutput output = HarnessOutput.parse("memory", lines);

        assertEquals(List.of(new HarnessOutput.MemoryPoint("start", 62_914_560, 41_943_040),
            new HarnessOutput.MemoryPoint("end", 73_400_320, -4096)), output.memory());
        assertEquals(List.of(), HarnessOutput.parse("good", GOOD).memory(), "no memory lines, no points");
    }

    @Test
    void shouldRejectAMalformedMemoryRecord() {
        for (String bad : List.of("memory start 1", "memory start one 2", "memory start 1 2 3")) {
            List<String> lines = new ArrayList<>(GOOD);
            lines.add(lines.size() - 1, bad);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HarnessOutput.parse("m", lines), bad);
            assertTrue(e.getMessage().startsWith("m:8: "), e.getMessage());
        }
    }

    @Test
    void shouldReadTheBigBlocksInOrder() {
        List<String> lines = new ArrayList<>(GOOD);
        lines.add(lines.size() - 1, "block big-block-512m 536870912 4957 4096 268435456 15763837");
        lines.add(lines.size() - 1, "block big-block-512m-clear 536870912 289000000 536875008 536875008 32000000");

        HarnessOutput output = HarnessOutput.parse("blocks", lines);

        assertEquals(List.of(new HarnessOutput.BigBlock("big-block-512m", 536_870_912, 4957, 4096, 268_435_456, 15_763_837),
            new HarnessOutput.BigBlock("big-block-512m-clear", 536_870_912, 289_000_000, 536_875_008, 536_875_008,
                32_000_000)), output.blocks());
        assertEquals(2, output.workloads().size(), "the workloads are read as before");
        assertEquals(List.of(), HarnessOutput.parse("good", GOOD).blocks(), "no block lines, no blocks");
    }

    @Test
    void shouldRejectAMalformedBlockRecord() {
        for (String bad : List.of("block big-block-512m 536870912 4957 4096 268435456",
            "block big-block-512m 536870912 4957 4096 268435456 1 2", "block big-block-512m 512m 4957 4096 268435456 1",
            "block big-block-512m 0 4957 4096 268435456 1", "block big-block-512m 536870912 -1 4096 268435456 1",
            "block big-block-512m 536870912 4957 -4096 268435456 1")) {
            List<String> lines = new ArrayList<>(GOOD);
            lines.add(lines.size() - 1, bad);

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HarnessOutput.parse("b", lines), bad);
            assertTrue(e.getMessage().startsWith("b:8: "), bad + ": " + e.getMessage());
        }
    }

    @Test
    void shouldReadAClientAsFixedWorkWithItsCheck() {
        HarnessOutput output = HarnessOutput.parse("clients", List.of("pm-bench 1", "subject glibc", "timer rdtscp 10.0",
            "client client-lua 250525 19236146 15656329323549867465", "samples client-lua 20 30",
            "client client-cpp 419078 19962519 2160909244733815465", "samples client-cpp 10", "end"));

        assertEquals(2, output.workloads().size());
        HarnessOutput.WorkloadRun lua = output.workloads().get(0);
        assertTrue(lua.client());
        assertEquals("client-lua", lua.name());
        assertEquals(1, lua.threads());
        assertEquals(250525, lua.ops());
        assertEquals(19236146, lua.nanos());
        assertEquals("15656329323549867465", Long.toUnsignedString(lua.check()), "a check above Long.MAX_VALUE");
        assertArrayEquals(new long[] {20, 30}, lua.samples());
        assertTrue(Double.isNaN(lua.memoryOverhead()));
        assertFalse(HarnessOutput.parse("good", GOOD).workloads().get(0).client(), "workloads are not clients");
    }

    @Test
    void shouldRejectAMalformedClientRecord() {
        for (String bad : List.of("client client-lua 100 200", "client client-lua 100 0 7", "client client-lua x 200 7",
            "client client-lua 100 200 -7")) {
            List<String> lines = List.of("pm-bench 1", "subject glibc", "timer rdtscp 10.0", bad, "samples client-lua 1", "end");

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HarnessOutput.parse("c", lines), bad);
            assertTrue(e.getMessage().startsWith("c:4: "), bad + ": " + e.getMessage());
        }
    }

    @Test
    void shouldRejectAnOutputThatNeverReachedItsEnd() {
        List<String> truncated = GOOD.subList(0, GOOD.size() - 1);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HarnessOutput.parse("cut", truncated));
        assertTrue(e.getMessage().contains("did not finish"), e.getMessage());
    }

    @Test
    void shouldRejectARunThatReportedAFailedAllocation() {
        List<String> failed = new ArrayList<>(GOOD.subList(0, GOOD.size() - 1));
        failed.add("failed");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HarnessOutput.parse("run", failed));
        assertTrue(e.getMessage().startsWith("run:8: "), e.getMessage());
    }

    @Test
    void shouldNameTheLineOfAnUnknownRecord() {
        List<String> odd = new ArrayList<>(GOOD);
        odd.add(3, "bogus 1 2");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HarnessOutput.parse("f", odd));
        assertTrue(e.getMessage().startsWith("f:4: unknown record 'bogus'"), e.getMessage());
    }

    @Test
    void shouldRejectAWorkloadWithoutSamples() {
        List<String> missing = new ArrayList<>(GOOD);
        missing.remove("samples pair-64 30 31 45");

        assertThrows(IllegalArgumentException.class, () -> HarnessOutput.parse("f", missing));
    }

    @Test
    void shouldRejectASampleThatIsNotANumber() {
        List<String> bad = new ArrayList<>(GOOD);
        bad.set(4, "samples pair-64 30 x1");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HarnessOutput.parse("f", bad));
        assertTrue(e.getMessage().startsWith("f:5: not a number"), e.getMessage());
    }
}
