package dev.jseek.parallel;

/**
 * A communication failure with a one-line message that names the operation, the ranks involved and what to do:
 * a collective that waited past the deadline ({@link CommConfig#timeoutSeconds()}), a rank that failed or left,
 * ranks that called different collectives, or mismatched counts. The job cannot continue after one; under MPI the
 * CLI turns it into {@code MPI_Abort}, which stops every process of the job.
 */
public class CommException extends RuntimeException {
    public CommException(String message) { super(message); }
    public CommException(String message, Throwable cause) { super(message, cause); }
}
