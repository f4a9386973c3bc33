// Connector/J with useCompression=true through Causeway (t/61-compression.t): text and
// server-side prepared statements, a large result, a write read back at once (it must
// not be stale) and reads that say which server answered (test.marker). Run as a
// single-file program: java -cp <jar> CompressClient.java PORT PRIMARY_NAME.
// Prints `ok NAME` / `not ok NAME: detail` lines.
import java.sql.*;

public class CompressClient {
    static void check(String name, boolean ok, String detail) {
        System.out.println(ok ? "ok " + name : "not ok " + name + ": " + detail);
    }

    public static void main(String[] a) throws Exception {
        String url = "jdbc:mariadb://127.0.0.1:" + a[0] + "/test?user=app&password=secret&useCompression=true";
        for (String mode : new String[] {"text", "server"}) {
            String u = url + (mode.equals("server") ? "&useServerPrepStmts=true" : "");
            try (Connection c = DriverManager.getConnection(u)) {
                try (Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("SHOW STATUS LIKE 'Compression'")) {
                    rs.next();
                    check(mode + "_status", rs.getString(2).equals("ON"), rs.getString(2));
                }
                long sum = 0, rows = 0;
                try (PreparedStatement ps = c.prepareStatement(
                         "SELECT seq, REPEAT('z', 200) FROM seq_1_to_100000 WHERE seq > ?")) {
                    ps.setInt(1, 0);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            sum += rs.getLong(1);
                            rows += rs.getString(2).length() == 200 ? 1 : 0;
                        }
                    }
                }
                check(mode + "_large", rows == 100000 && sum == 100000L * 100001 / 2, rows + " rows, sum " + sum);
                int stale = 0, onReplica = 0;
                int base = mode.equals("text") ? 1000 : 2000;
                try (PreparedStatement ins = c.prepareStatement("INSERT INTO c (id, v) VALUES (?, ?)");
                     PreparedStatement sel = c.prepareStatement(
                         "SELECT c.v, m.name FROM c JOIN marker m WHERE c.id = ?")) {
                    for (int i = 0; i < 100; i++) {
                        ins.setInt(1, base + i);
                        ins.setString(2, "j" + i);
                        ins.executeUpdate();
                        sel.setInt(1, base + i);
                        try (ResultSet rs = sel.executeQuery()) {
                            if (!rs.next() || !rs.getString(1).equals("j" + i)) stale++;
                            else if (!rs.getString(2).equals(a[1])) onReplica++;
                        }
                    }
                }
                check(mode + "_no_stale_reads", stale == 0, stale + " of 100 stale");
                System.out.println("note " + mode + " read-your-writes on replicas: " + onReplica + " of 100");
                try (Statement s = c.createStatement()) {
                    try {
                        s.executeQuery("SELECT * FROM nosuch");
                        check(mode + "_error", false, "no error");
                    } catch (SQLException e) {
                        check(mode + "_error", e.getErrorCode() == 1146, e.getErrorCode() + " " + e.getMessage());
                    }
                    try (ResultSet rs = s.executeQuery("SELECT 'still here'")) {
                        rs.next();
                        check(mode + "_after_error", rs.getString(1).equals("still here"), rs.getString(1));
                    }
                }
            }
        }
    }
}
