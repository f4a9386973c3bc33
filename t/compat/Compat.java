// Causeway driver matrix: Debian's Connector/J (libmariadb-java 2.7.6) runs t/compat/steps.tsv
// and prints what it saw (see t/compat/README). Run with the JDK's source launcher:
//   java -cp /usr/share/java/mariadb-java-client.jar t/compat/Compat.java [server-prepare] HOST PORT
// Without server-prepare the driver's default applies (client-side prepares, text protocol).
import java.io.*;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.security.MessageDigest;
import java.sql.*;
import java.util.*;

public class Compat {
    static PrintStream out;
    static Connection conn;

    static String hex(byte[] b) {
        StringBuilder s = new StringBuilder("0x");
        for (byte x : b) s.append(String.format("%02x", x & 0xff));
        return s.toString();
    }

    static String fmt(Object v) {
        if (v == null) return "NULL";
        byte[] b = v instanceof byte[] ? (byte[]) v : v.toString().getBytes(StandardCharsets.UTF_8);
        for (byte x : b) if (x < 0x20 || x > 0x7e) return hex(b);
        return new String(b, StandardCharsets.US_ASCII);
    }

    // Connector/J puts the connection id into messages ("(conn=12)"): it differs per server.
    static String msg(String m) { return m == null ? "" : m.replaceAll("\\(conn=\\d+\\) ?", "").replace('\n', ' '); }

    static void err(SQLException e) {
        out.println("err: " + e.getErrorCode() + " " + e.getSQLState() + " " + fmt(msg(e.getMessage())));
    }

    static void warnings(SQLWarning w) {
        for (; w != null; w = w.getNextWarning())
            out.println("warning: " + w.getErrorCode() + " " + w.getSQLState() + " " + fmt(msg(w.getMessage())));
    }

    static void bind(PreparedStatement ps, int i, String p) throws SQLException {
        String t = p.substring(0, p.indexOf(':')), v = p.substring(p.indexOf(':') + 1);
        switch (t) {
            case "n": ps.setNull(i, Types.NULL); break;
            case "i": ps.setLong(i, Long.parseLong(v)); break;
            case "d": ps.setDouble(i, Double.parseDouble(v)); break;
            case "m": ps.setBigDecimal(i, new BigDecimal(v)); break;
            case "x": ps.setBytes(i, unhex(v)); break;
            case "u": ps.setString(i, new String(unhex(v), StandardCharsets.UTF_8)); break;
            default: ps.setString(i, v);
        }
    }

    static byte[] unhex(String h) {
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        return b;
    }

    static void resultSet(ResultSet rs, boolean digest) throws Exception {
        ResultSetMetaData md = rs.getMetaData();
        int n = md.getColumnCount();
        StringBuilder c = new StringBuilder("cols:");
        for (int i = 1; i <= n; i++)
            c.append(' ').append(md.getColumnLabel(i)).append(':').append(md.getColumnTypeName(i)).append(':')
             .append(md.getColumnType(i)).append(':').append(md.getPrecision(i)).append(':').append(md.getScale(i))
             .append(':').append(md.isNullable(i)).append(':').append(md.getColumnClassName(i));
        out.println(c);
        MessageDigest md5 = MessageDigest.getInstance("MD5");
        long rows = 0;
        while (rs.next()) {
            StringBuilder line = new StringBuilder();
            for (int i = 1; i <= n; i++) {
                if (i > 1) line.append('|');
                Object v = rs.getObject(i);
                line.append(v == null ? "NULL" : v.getClass().getSimpleName() + ":" + fmt(v));
            }
            rows++;
            if (digest) md5.update((line + "\n").getBytes(StandardCharsets.UTF_8));
            else out.println("row: " + line);
        }
        StringBuilder r = new StringBuilder("rows: " + rows);
        if (digest) r.append(" md5 ").append(hex(md5.digest()).substring(2));
        out.println(r);
    }

    static void results(Statement st, boolean hasRs, boolean digest) throws Exception {
        while (true) {
            if (hasRs) resultSet(st.getResultSet(), digest);
            else {
                int u = st.getUpdateCount();
                if (u == -1) break;
                out.println("ok: affected=" + u);
            }
            warnings(st.getWarnings());
            st.clearWarnings();
            hasRs = st.getMoreResults();
        }
    }

    static void step(String sql, List<String> params, boolean prepared, boolean digest) {
        try {
            if (prepared) {
                try (PreparedStatement ps = conn.prepareStatement(sql)) {
                    for (int i = 0; i < params.size(); i++) bind(ps, i + 1, params.get(i));
                    results(ps, ps.execute(), digest);
                }
            } else {
                try (Statement st = conn.createStatement()) {
                    results(st, st.execute(sql), digest);
                }
            }
        } catch (SQLException e) {
            err(e);
        } catch (Exception e) {
            out.println("exception: " + e);
        }
    }

    public static void main(String[] a) throws Exception {
        out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        boolean serverPrepare = a[0].equals("server-prepare");
        if (serverPrepare) a = Arrays.copyOfRange(a, 1, a.length);
        String url = "jdbc:mariadb://" + a[0] + ":" + a[1] + "/test?user=app&password=secret&connectTimeout=10000&socketTimeout=20000";
        if (serverPrepare) url += "&useServerPrepStmts=true";
        conn = DriverManager.getConnection(url);
        String steps = System.getenv().getOrDefault("COMPAT_STEPS", "t/compat/steps.tsv");
        int n = 0;
        for (String line : Files.readAllLines(Paths.get(steps), StandardCharsets.US_ASCII)) {
            if (line.isEmpty() || line.startsWith("#")) continue;
            List<String> f = new ArrayList<>(Arrays.asList(line.split("\t")));
            String op = f.remove(0);
            n++;
            if (op.equals("comment")) { out.println("## " + f.get(0)); continue; }
            String all = String.join(" ", f);
            out.println("> " + n + " " + op + " " + all.substring(0, Math.min(100, all.length())));
            String sql = f.isEmpty() ? "" : f.get(0);
            List<String> params = f.size() > 1 ? f.subList(1, f.size()) : List.of();
            try {
                switch (op) {
                    case "query": step(sql, params, false, false); break;
                    case "digest": step(sql, params, false, true); break;
                    case "prepared": step(sql, params, true, false); break;
                    case "digest_prepared": step(sql, params, true, true); break;
                    case "begin": conn.setAutoCommit(false); break;
                    case "commit": conn.commit(); conn.setAutoCommit(true); break;
                    case "rollback": conn.rollback(); conn.setAutoCommit(true); break;
                    case "reset": conn.unwrap(org.mariadb.jdbc.MariaDbConnection.class).reset(); break;
                    case "change_user": out.println("unsupported"); break;
                    default: throw new RuntimeException("unknown step " + op);
                }
            } catch (SQLException e) {
                err(e);
            }
        }
        out.println("end");
        conn.close();
    }
}
