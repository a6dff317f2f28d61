package dev.jseek.api;

/** Receives a completion's text piece by piece as it is generated; returns false to stop the generation. */
@FunctionalInterface
public interface TextSink {
    boolean accept(String delta);
}
