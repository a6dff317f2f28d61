package dev.jseek.serve;

import java.io.IOException;

/**
 * The client is gone or too slow: it closed the connection, or did not send its request (or read the answer) within
 * the {@link ServerLimits} timeout. Logged as one line; nothing can be answered.
 */
final class ClientGoneException extends IOException {
    ClientGoneException(String message) { super(message, null); }
}
