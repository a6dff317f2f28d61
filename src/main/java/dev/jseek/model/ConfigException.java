package dev.jseek.model;

import java.nio.file.Path;

/**
 * A model config.json that jseek cannot use: a required field is missing, has the wrong JSON type, is out of range,
 * or is inconsistent with another field. The message names the file, the field and the offending value.
 */
public class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;
    private final String field;
    private final String problem;

    /** {@code file} may be null (a config built in code); {@code field} is dotted for nested fields ("rope_scaling.factor"). */
    public ConfigException(Path file, String field, String problem) {
        super(where(file) + ": field '" + field + "': " + problem);
        this.file = file;
        this.field = field;
        this.problem = problem;
    }

    /** A problem with the file as a whole (unreadable, not JSON). */
    public ConfigException(Path file, String problem, Throwable cause) {
        super(where(file) + ": " + problem, cause);
        this.file = file;
        this.field = null;
        this.problem = problem;
    }

    private static String where(Path file) { return file == null ? "config" : file.toString(); }

    /** The same error attributed to {@code f} (when it had no file yet). */
    public ConfigException inFile(Path f) {
        if (file != null || f == null) return this;
        return field == null ? new ConfigException(f, problem, getCause()) : new ConfigException(f, field, problem);
    }

    public Path file() { return file; }

    /** The JSON field at fault; null for a whole-file problem. */
    public String field() { return field; }

    public String problem() { return problem; }
}
