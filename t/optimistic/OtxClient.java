// Connector/J units of work as Spring and Hibernate send them (t/49-optimistic-clients.t):
// setAutoCommit(false) sends `set autocommit=0`, commit() sends COMMIT, setAutoCommit(true)
// sends `set autocommit=1`. Run as a single-file program: java -cp <jar> OtxClient.java
// PORT REPLICAS MODE, MODE text (client-side prepares) or server (useServerPrepStmts: the
// binary protocol). Prints `ok NAME` / `not ok NAME: detail` lines.
import java.sql.*;
import java.util.*;

public class OtxClient {
    static void check(String name, boolean ok, String detail) {
        System.out.println(ok ? "ok " + name : "not ok " + name + ": " + detail);
    }

    public static void main(String[] a) throws Exception {
        String port = a[0];
        Set<String> replicas = new HashSet<>(Arrays.asList(a[1].split(",")));
        String mode = a[2];
        String url = "jdbc:mariadb://127.0.0.1:" + port + "/test?user=app&password=secret"
                + (mode.equals("server") ? "&useServerPrepStmts=true" : "");
        try (Connection c = DriverManager.getConnection(url)) {
            // @Transactional(readOnly = true): 10 units of 5 reads.
            int wrong = 0;
            Map<String, Integer> by = new TreeMap<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = ?")) {
                for (int unit = 0; unit < 10; unit++) {
                    c.setAutoCommit(false);
                    for (int id = 1; id <= 5; id++) {
                        ps.setInt(1, id);
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            if (rs.getInt(1) != id * 10) wrong++;
                            by.merge(rs.getString(2), 1, Integer::sum);
                        }
                    }
                    c.commit();
                    c.setAutoCommit(true);
                }
            }
            check(mode + "_readonly_results", wrong == 0, wrong + " wrong");
            boolean all = by.keySet().stream().allMatch(replicas::contains);
            check(mode + "_readonly_on_replicas", all, by.toString());

            // Read, then write (a Hibernate unit of work): the write on the primary, the
            // transaction's later read sees it, commit keeps it.
            int row = mode.equals("server") ? 61 : 62;
            c.setAutoCommit(false);
            int before;
            try (PreparedStatement ps = c.prepareStatement("SELECT v FROM t WHERE id = ?")) {
                ps.setInt(1, row);
                try (ResultSet rs = ps.executeQuery()) { rs.next(); before = rs.getInt(1); }
                try (PreparedStatement up = c.prepareStatement("UPDATE t SET v = v + 1 WHERE id = ?")) {
                    up.setInt(1, row);
                    check(mode + "_write_updates", up.executeUpdate() == 1, "no row");
                }
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    check(mode + "_reads_own_write", rs.getInt(1) == before + 1, rs.getInt(1) + " after " + before);
                }
            }
            c.commit();
            c.setAutoCommit(true);
            check(mode + "_read_then_write_start", before == row * 10, "read " + before);

            // Read-your-writes into a transaction: a write (autocommit), then a read-only unit
            // that reads it, 20 times; the replicas are a fraction of a millisecond behind.
            int stale = 0;
            try (PreparedStatement up = c.prepareStatement("UPDATE t SET v = ? WHERE id = ?");
                 PreparedStatement ps = c.prepareStatement("SELECT v FROM t WHERE id = ?")) {
                int id = mode.equals("server") ? 70 : 71;
                for (int i = 1; i <= 20; i++) {
                    up.setInt(1, 1000 + i);
                    up.setInt(2, id);
                    up.executeUpdate();
                    c.setAutoCommit(false);
                    ps.setInt(1, id);
                    try (ResultSet rs = ps.executeQuery()) { rs.next(); if (rs.getInt(1) != 1000 + i) stale++; }
                    c.commit();
                    c.setAutoCommit(true);
                }
            }
            check(mode + "_no_stale_reads", stale == 0, stale + " of 20 stale");
        }
    }
}
