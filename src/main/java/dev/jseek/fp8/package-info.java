/**
 * FP8 mixed-precision training (report §3.3; docs/architecture.md §8): E4M3 codec ({@link dev.jseek.fp8.E4m3}), tile-scaled FP8
 * tensors ({@link dev.jseek.fp8.Fp8Tensor}), online fine-grained quantization in 1x128 / 128x128 / 128x1 tiles with
 * FP32 or UE8M0 scales ({@link dev.jseek.fp8.TileQuantizer}), the FP8 GEMM with promotion every 128 ("1D2D" and
 * "1D1D", {@link dev.jseek.fp8.Fp8Gemm}, scalar twin {@link dev.jseek.fp8.ScalarFp8Gemm}), a limited-precision
 * accumulator model ({@link dev.jseek.fp8.LimitedAccumulator}) and the three GEMMs of a Linear in FP8
 * ({@link dev.jseek.fp8.Fp8Linear}), and the 12-bit E5M6 format with power-of-two 1x128 tile scales in which the
 * o_proj input is cached ({@link dev.jseek.fp8.E5m6}).
 */
package dev.jseek.fp8;
