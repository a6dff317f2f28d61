package dev.jseek.parallel;

/**
 * Element type of a communication buffer: 32-bit floats (activations, gradients, parameters) or bytes (FP8 payloads,
 * serialized scalars). Counts and displacements given to a {@link Communicator} are in elements of this type.
 */
public enum ElemType {
    FLOAT(4),
    BYTE(1);

    private final int bytes;

    ElemType(int bytes) { this.bytes = bytes; }

    /** Size of one element in bytes. */
    public int bytes() { return bytes; }
}
