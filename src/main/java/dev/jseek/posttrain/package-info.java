/**
 * Post-training of DeepSeek-V3 (docs/architecture.md §7.5, §7.6): supervised fine-tuning on chat conversations rendered with the
 * model's chat template, loss on the assistant tokens only ({@link dev.jseek.posttrain.SftEncoder},
 * {@link dev.jseek.posttrain.SftBatchSource}), and reinforcement learning with GRPO (group-relative advantages,
 * clipped ratio, KL to a frozen reference; {@link dev.jseek.posttrain.GrpoObjective},
 * {@link dev.jseek.posttrain.RolloutSource}, {@link dev.jseek.posttrain.GrpoTrainable}) with rule-based and
 * model-based {@link dev.jseek.posttrain.Reward}s. Both run on the pre-training loop ({@link dev.jseek.train.Trainer}):
 * same optimizer, schedules, checkpoints, metrics and exact resume.
 */
package dev.jseek.posttrain;
