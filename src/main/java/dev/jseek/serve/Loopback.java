package dev.jseek.serve;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * Loopback addresses and names, for the bind policy (no key: loopback only) and the Host/Origin check of a loopback
 * server, which defeats DNS rebinding (a page whose name resolves to 127.0.0.1 still sends its own name as Host).
 */
public final class Loopback {
    private Loopback() {}

    /** Whether {@code host} (a name or literal address to bind) is a loopback address; names are resolved. */
    public static boolean isLoopback(String host) { return isLoopbackHost(host); }

    static boolean isLoopbackHost(String host) {
        if (isLoopbackName(host)) return true;
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** localhost, 127.x.y.z, ::1 (literal forms only: nothing is resolved). */
    static boolean isLoopbackName(String h) {
        String s = h.toLowerCase(Locale.ROOT);
        if (s.startsWith("[") && s.endsWith("]")) s = s.substring(1, s.length() - 1);
        if (s.endsWith(".")) s = s.substring(0, s.length() - 1);
        if (s.equals("localhost") || s.endsWith(".localhost") || s.equals("::1") || s.equals("0:0:0:0:0:0:0:1")) return true;
        String[] p = s.split("\\.", -1);
        if (p.length != 4 || !p[0].equals("127")) return false;
        for (String x : p) if (!x.matches("\\d{1,3}") || Integer.parseInt(x) > 255) return false;
        return true;
    }

    /** A Host header value (name or literal, optional port) that names this machine's loopback interface. */
    static boolean isLoopbackAuthority(String hostHeader) {
        String h = hostHeader.trim();
        if (h.startsWith("[")) {
            int e = h.indexOf(']');
            if (e < 0) return false;
            String rest = h.substring(e + 1);
            return (rest.isEmpty() || rest.matches(":\\d{1,5}")) && isLoopbackName(h.substring(0, e + 1));
        }
        int c = h.indexOf(':');
        if (c >= 0) {
            if (!h.substring(c).matches(":\\d{1,5}")) return false;
            h = h.substring(0, c);
        }
        return isLoopbackName(h);
    }

    /** An Origin header value ({@code scheme://host[:port]}) whose host is loopback; "null" is not. */
    static boolean isLoopbackOrigin(String origin) {
        try {
            URI u = new URI(origin.trim());
            return u.getHost() != null && isLoopbackName(u.getHost());
        } catch (Exception e) {
            return false;
        }
    }
}
