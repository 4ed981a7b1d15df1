package org.platformmemory.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

/** The terminal table, the CSV file and the HTML report with workloads and real clients side by side. */
class ReportsTest {

    private static List<WorkloadFigures> figures() {
        Measurements m = new Measurements("glibc");
        for (String subject : List.of("arena", "glibc")) {
            long nanos = subject.equals("glibc") ? 20_000_000 : 50_000_000;
            m.add(0, subject.equals("glibc") ? "peer" : "backend", HarnessOutput.parse(subject, List.of("pm-bench 1",
                "subject " + subject, "timer rdtscp 10", "workload pair-64 1 1000 20000 0 0", "samples pair-64 30",
                "client client-lua 5000 " + nanos + " 99", "samples client-lua 40 50", "end")));
        }
        return m.figures();
    }

    @Test
    void terminalTableShouldKeepClientsInATableOfTheirOwn() {
        String table = TerminalTable.render(figures(), "glibc");

        String[] parts = table.split("\\R\\R");
        assertEquals(2, parts.length, table);
        assertTrue(parts[0].contains("| pair-64") && !parts[0].contains("client-lua"), table);
        assertTrue(parts[1].startsWith("| client ") && parts[1].contains("wall ms"), table);
        String arena = parts[1].lines().filter(l -> l.startsWith("| client-lua       | arena ")).findFirst().orElseThrow();
        assertTrue(arena.matches("\\| client-lua +\\| arena +\\| +50\\.0 +\\| +0\\.40x \\|.*"), arena);
        String glibc = parts[1].lines().filter(l -> l.startsWith("| client-lua       | glibc ")).findFirst().orElseThrow();
        assertTrue(glibc.matches("\\| client-lua +\\| glibc +\\| +20\\.0 +\\| +1\\.00x \\|.*"), glibc);
    }

    @Test
    void terminalTableShouldHaveNoClientTableWithoutClients() {
        List<WorkloadFigures> workloads = figures().stream().filter(f -> !f.client()).toList();

        assertFalse(TerminalTable.render(workloads, "glibc").contains("wall ms"));
    }

    @Test
    void csvShouldGiveClientsTheirWallTime(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("r.csv");
        CsvReport.write(csv, figures());

        List<String> rows = Files.readAllLines(csv);
        assertEquals(CsvReport.HEADER, rows.get(0));
        assertTrue(CsvReport.HEADER.endsWith(",wall_ns,wall_ns_min,wall_ns_max"));
        int columns = CsvReport.HEADER.split(",").length;
        for (String row : rows) {
            assertEquals(columns, row.split(",", -1).length, row);
        }
        String arenaLua = rows.stream().filter(r -> r.startsWith("client-lua,1,arena,")).findFirst().orElseThrow();
        assertTrue(arenaLua.endsWith(",5.000e+07,5.000e+07,5.000e+07"), arenaLua);
        String[] cells = arenaLua.split(",", -1);
        assertEquals("0.4000", cells[8], "vs_baseline: glibc's wall time over arena's");
        String pairs = rows.stream().filter(r -> r.startsWith("pair-64,1,arena,")).findFirst().orElseThrow();
        assertTrue(pairs.endsWith(",,,"), "no wall time for a workload: " + pairs);
    }

    @Test
    void htmlShouldShowClientsInASectionWithWallTimeCharts(@TempDir Path dir) throws Exception {
        Path html = dir.resolve("r.html");
        HtmlReport.write(html, "t", List.of("context"), figures(), "glibc");

        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        Document doc = factory.newDocumentBuilder().parse(html.toFile()); // throws if not well-formed
        assertEquals(2, doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "svg").getLength());
        String text = Files.readString(html);
        assertTrue(text.contains("<h2 id=\"clients\">Real clients</h2>"), text);
        assertTrue(text.contains("<h3 id=\"client-lua\">client-lua</h3>"), text);
        assertTrue(text.contains("wall time for the client's work, ms (shorter is better)"), text);
        assertTrue(text.contains(">50.0 ms</text>") && text.contains(">20.0 ms</text>"), text);
        assertTrue(text.indexOf("id=\"pair-64\"") < text.indexOf("id=\"clients\""), "workloads first");
    }
}
