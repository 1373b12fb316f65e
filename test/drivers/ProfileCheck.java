// Read persona profiles the way a Java BI tool does, over JDBC (pgjdbc).
//
//   java -cp results/drivers:postgresql.jar ProfileCheck OUT SCHEMA.NAME... [--param LABEL SQL VALUE]...
//
// Connection from the PG* environment (PGHOST is a socket directory or a host
// name), the client time zone from -Duser.timezone. For every relation of each
// profile (its schema, name starting with NAME_ but not NAME__, the
// profile's internal relations):
//   - getColumnType is never Types.OTHER, STRUCT, JAVA_OBJECT or DISTINCT, and
//     getColumnClassName never names PGobject (a BI tool could not show it);
//   - every column's type is one a profile may use (text[] only for tags).
// Prints a TAP line for those checks and writes to OUT, in canonical.sql's line
// format, each relation's columns, row count and per-row digests computed from
// the values as a BI tool fetches them (getLong, getBigDecimal, getDouble,
// getDate, getTimestamp, getBoolean, getString, getArray), and for each --param
// the count the query returns with VALUE bound by setString (or ERROR and the
// SQLSTATE). test/drivers.sh compares OUT with psql's.

import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TimeZone;

public final class ProfileCheck {
    // PostgreSQL type names (getColumnTypeName) a profile's columns may have
    private static final Set<String> ALLOWED = Set.of(
        "int8", "int4", "int2", "numeric", "float8", "date", "timestamptz", "bool", "text", "_text");
    private static final Map<Integer, String> BAD_JDBC_TYPES = Map.of(
        Types.OTHER, "OTHER", Types.STRUCT, "STRUCT", Types.JAVA_OBJECT, "JAVA_OBJECT", Types.DISTINCT, "DISTINCT");
    private static final MathContext TWELVE = new MathContext(12, RoundingMode.HALF_EVEN);

    private ProfileCheck() {
    }

    private static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? dflt : v;
    }

    // libpq's PG* variables as a pgjdbc URL (PGJDBC_URL overrides). pgjdbc
    // speaks TCP only: a PGHOST that is a socket directory (starts with /)
    // means the same server on localhost, which PostgreSQL listens on by default.
    private static Connection connect() throws SQLException {
        String url = System.getenv("PGJDBC_URL");
        if (url == null || url.isEmpty()) {
            String host = env("PGHOST", "localhost");
            if (host.startsWith("/")) {
                host = "localhost";
            }
            url = "jdbc:postgresql://" + host + ":" + env("PGPORT", "5432") + "/"
                + env("PGDATABASE", env("PGUSER", System.getProperty("user.name")));
        }
        Properties p = new Properties();
        p.setProperty("user", env("PGUSER", System.getProperty("user.name")));
        String pw = System.getenv("PGPASSWORD");
        if (pw != null) {
            p.setProperty("password", pw);
        }
        p.setProperty("ApplicationName", "persona ProfileCheck");
        return DriverManager.getConnection(url, p);
    }

    // float8 as C's %.11e of its exact binary value (round half to even), as
    // canonical.sql's to_char(x, '9.99999999999EEEE') and Python's "%.11e" give.
    static String canonFloat(double v) {
        if (v == 0.0) {
            return "0";
        }
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "Infinity" : "-Infinity";
        }
        BigDecimal r = new BigDecimal(v).round(TWELVE);
        String digits = r.unscaledValue().abs().toString();
        int exp = digits.length() - r.scale() - 1;
        StringBuilder sb = new StringBuilder(digits);
        while (sb.length() < 12) {
            sb.append('0');
        }
        String mant = sb.substring(0, 12);
        return (r.signum() < 0 ? "-" : "") + mant.charAt(0) + "." + mant.substring(1)
            + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    static String canonNumeric(BigDecimal v) {
        if (v.signum() == 0) {
            return "0";
        }
        return v.stripTrailingZeros().toPlainString();
    }

    private static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    private static void flatten(Object a, List<String> out) {
        for (Object e : (Object[]) a) {
            if (e instanceof Object[]) {
                flatten(e, out);
            } else {
                out.add((String) e);
            }
        }
    }

    // Canonical text of column i of the current row, or null for SQL NULL.
    private static String canon(ResultSet rs, int i, String type) throws SQLException {
        switch (type) {
            case "int8":
            case "int4":
            case "int2": {
                long v = rs.getLong(i);
                return rs.wasNull() ? null : Long.toString(v);
            }
            case "numeric": {
                String s = rs.getString(i);
                if (s == null) {
                    return null;
                }
                if (s.equals("NaN") || s.equals("Infinity") || s.equals("-Infinity")) {
                    return s;   // getBigDecimal cannot hold these
                }
                return canonNumeric(rs.getBigDecimal(i));
            }
            case "float8": {
                double v = rs.getDouble(i);
                return rs.wasNull() ? null : canonFloat(v);
            }
            case "date": {
                java.sql.Date d = rs.getDate(i);   // midnight in the JVM's zone
                return d == null ? null : d.toString();
            }
            case "timestamptz": {
                Timestamp t = rs.getTimestamp(i);
                if (t == null) {
                    return null;
                }
                return Long.toString(Math.floorDiv(t.getTime(), 1000L) * 1000000L + t.getNanos() / 1000);
            }
            case "bool": {
                boolean v = rs.getBoolean(i);
                return rs.wasNull() ? null : (v ? "t" : "f");
            }
            case "_text": {
                Array a = rs.getArray(i);
                if (a == null) {
                    return null;
                }
                List<String> elems = new ArrayList<>();
                flatten(a.getArray(), elems);
                StringBuilder sb = new StringBuilder("[");
                for (int k = 0; k < elems.size(); k++) {
                    String e = elems.get(k);
                    sb.append(k > 0 ? "," : "").append(e == null ? "N" : utf8Length(e) + ":" + e);
                }
                return sb.append(']').toString();
            }
            default:
                return rs.getString(i);   // text, and any type already reported
        }
    }

    private static String md5(String s) throws NoSuchAlgorithmException {
        StringBuilder sb = new StringBuilder();
        for (byte b : MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8))) {
            sb.append(String.format("%02x", b & 0xff));
        }
        return sb.toString();
    }

    private static String quoteIdent(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    public static void main(String[] args) throws Exception {
        String outPath = args[0];
        List<String> profiles = new ArrayList<>();
        List<String[]> params = new ArrayList<>();
        for (int k = 1; k < args.length; k++) {
            if (args[k].equals("--param")) {
                params.add(new String[] {args[k + 1], args[k + 2], args[k + 3]});
                k += 3;
            } else {
                profiles.add(args[k]);
            }
        }
        List<String> lines = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        int nrel = 0;
        int ncol = 0;
        String zone;
        String driver;
        try (Connection conn = connect()) {
            driver = conn.getMetaData().getDriverVersion();
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SHOW TimeZone")) {
                rs.next();
                zone = rs.getString(1);
            }
            for (String profile : profiles) {
                String schema = profile.substring(0, profile.indexOf('.'));
                String name = profile.substring(profile.indexOf('.') + 1);
                List<String> rels = new ArrayList<>();
                // what a BI tool's table list shows: tables, views, materialized views
                try (PreparedStatement ps = conn.prepareStatement(
                        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                        + " WHERE n.nspname = ? AND c.relkind IN ('r', 'v', 'm', 'p', 'f')"
                        + " AND left(c.relname, length(?) + 1) = ? || '_'"
                        + " AND left(c.relname, length(?) + 2) <> ? || '__' ORDER BY c.relname")) {
                    ps.setString(1, schema);
                    for (int k = 2; k <= 5; k++) {
                        ps.setString(k, name);
                    }
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            rels.add(rs.getString(1));
                        }
                    }
                }
                if (rels.isEmpty()) {
                    problems.add(profile + ": no relations");
                }
                for (String relname : rels) {
                    String label = schema + "." + relname;
                    try (Statement st = conn.createStatement();
                         ResultSet rs = st.executeQuery("SELECT * FROM " + quoteIdent(schema) + "." + quoteIdent(relname))) {
                        ResultSetMetaData md = rs.getMetaData();
                        int n = md.getColumnCount();
                        String[] types = new String[n + 1];
                        StringBuilder cols = new StringBuilder();
                        for (int i = 1; i <= n; i++) {
                            String cname = md.getColumnName(i);
                            types[i] = md.getColumnTypeName(i);
                            cols.append(i > 1 ? "," : "").append(cname);
                            String bad = BAD_JDBC_TYPES.get(md.getColumnType(i));
                            if (bad != null) {
                                problems.add(label + "." + cname + ": getColumnType is Types." + bad + " (" + types[i] + ")");
                            }
                            String cls = md.getColumnClassName(i);
                            if (cls == null || cls.contains("PGobject")) {
                                problems.add(label + "." + cname + ": getColumnClassName is " + cls + " (" + types[i] + ")");
                            }
                            if (!ALLOWED.contains(types[i]) || (types[i].equals("_text") && !cname.equals("tags"))) {
                                problems.add(label + "." + cname + ": type " + types[i] + " is not one a profile may use");
                            }
                        }
                        nrel++;
                        ncol += n;
                        lines.add(label + " columns " + cols);
                        List<String> rows = new ArrayList<>();
                        while (rs.next()) {
                            StringBuilder row = new StringBuilder();
                            for (int i = 1; i <= n; i++) {
                                String c = canon(rs, i, types[i]);
                                row.append(c == null ? "N" : "V" + utf8Length(c) + ":" + c);
                            }
                            rows.add(label + " row " + md5(row.toString()));
                        }
                        lines.add(label + " rows " + rows.size());
                        lines.addAll(rows);
                    }
                }
            }
            for (String[] p : params) {
                try (PreparedStatement ps = conn.prepareStatement(p[1])) {
                    ps.setString(1, p[2]);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        lines.add("param " + p[0] + " " + rs.getLong(1));
                    }
                } catch (SQLException e) {
                    String msg = e.getMessage() == null ? "" : e.getMessage().split("\n")[0];
                    lines.add("param " + p[0] + " ERROR " + e.getSQLState() + " " + msg);
                }
            }
        }
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(Paths.get(outPath), StandardCharsets.UTF_8))) {
            for (String l : lines) {
                w.print(l + "\n");
            }
        } catch (IOException e) {
            System.out.println("not ok - JDBC: cannot write " + outPath + ": " + e.getMessage());
            System.exit(1);
        }
        String what = "JDBC " + driver + " (user.timezone " + TimeZone.getDefault().getID() + ", TimeZone " + zone
            + "): " + nrel + " relations, " + ncol + " columns with JDBC types a BI tool can show";
        if (!problems.isEmpty() || nrel == 0) {
            System.out.println("not ok - " + what);
            for (String p : problems.subList(0, Math.min(20, problems.size()))) {
                System.out.println("#   " + p);
            }
            System.exit(1);
        }
        System.out.println("ok - " + what);
    }
}
