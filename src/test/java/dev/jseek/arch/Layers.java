package dev.jseek.arch;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.library.Architectures.LayeredArchitecture;
import java.util.ArrayList;
import java.util.List;

/**
 * The package layers of docs/architecture.md §9, bottom first. A package may depend only on packages of lower
 * layers: not on one of its own layer, not on one above. {@code kernels.scalar} (the scalar twins of the kernels, test
 * oracles) may be used by no production package.
 */
final class Layers {
    private Layers() {}

    /** Bottom to top; the packages of one row are siblings and must not use each other. */
    static final List<List<String>> RANKS = List.of(
            List.of("jinja"),                          // the chat templates' Jinja engine, used by tokenizer
            List.of("tensor", "tokenizer"),
            List.of("kernels", "kernels.scalar"),
            List.of("io", "parallel"),
            List.of("fp8", "data"),
            List.of("model"),
            List.of("gguf", "train"),
            List.of("infer", "source", "pipeline"),
            List.of("api"),
            List.of("posttrain", "serve", "bench"),   // bench: placed ahead of its arrival (issue 9 §5)
            List.of("eval"),                           // eval uses posttrain's arithmetic task and rewards (issue 15)
            List.of("cli"));

    /** The scalar twins of the kernels: test oracles, which no production package may call. */
    static final String SCALAR_TWINS = "kernels.scalar";

    static List<String> packages() {
        List<String> all = new ArrayList<>();
        RANKS.forEach(all::addAll);
        return all;
    }

    /** The layer rule over the packages below {@code root} (e.g. "dev.jseek"). */
    static ArchRule layered(String root) {
        LayeredArchitecture arch = layeredArchitecture().consideringOnlyDependenciesInLayers().withOptionalLayers(true);
        for (List<String> rank : RANKS)
            for (String p : rank)
                arch = arch.layer(p).definedBy(p.equals("kernels") ? root + ".kernels" : root + "." + p + "..");
        for (int r = 0; r < RANKS.size(); r++) {
            List<String> above = new ArrayList<>();
            for (int s = r + 1; s < RANKS.size(); s++) above.addAll(RANKS.get(s));
            for (String p : RANKS.get(r))
                if (!p.equals(SCALAR_TWINS)) arch = above.isEmpty() ? arch.whereLayer(p).mayNotBeAccessedByAnyLayer()
                        : arch.whereLayer(p).mayOnlyBeAccessedByLayers(above.toArray(String[]::new));
        }
        return arch.whereLayer(SCALAR_TWINS).mayNotBeAccessedByAnyLayer()
                .because("docs/architecture.md §9: arrows point down only; scalar twins are test oracles");
    }

    /** No cycles between the top-level packages below {@code root}. */
    static ArchRule noCycles(String root) {
        return slices().matching(root + ".(*)..").should().beFreeOfCycles();
    }
}
