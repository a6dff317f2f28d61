package dev.jseek.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.*;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.EvaluationResult;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The package layering of docs/architecture.md §9 and the absence of package cycles, checked on the compiled
 * production classes with ArchUnit. Oracle for the rules themselves: a fixture tree ({@code jseekfixture}) with one
 * back-arrow and one cycle, which the same rules must reject, so a rule that matches nothing cannot pass silently.
 */
class LayeringTest {
    private static final String ROOT = "dev.jseek";
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages(ROOT);

    @Test
    void everyProductionPackageHasALayer() {
        assertTrue(MAIN.size() > 200, "imported only " + MAIN.size() + " production classes");
        Set<String> unplaced = new TreeSet<>();
        for (JavaClass c : MAIN) {
            String rel = c.getPackageName().substring(ROOT.length() + 1);
            if (!Layers.packages().contains(rel) && !Layers.packages().contains(rel.split("\\.")[0]))
                unplaced.add(rel);
        }
        assertTrue(unplaced.isEmpty(), "packages without a layer (place them in Layers.RANKS and docs/architecture.md §9): " + unplaced);
    }

    @Test
    void arrowsPointDownOnly() {
        Layers.layered(ROOT).check(MAIN);
    }

    @Test
    void noCyclesBetweenPackages() {
        Layers.noCycles(ROOT).check(MAIN);
    }

    @Test
    void scalarTwinsAreCalledByTestsOnly() {
        noClasses().that().haveSimpleNameNotStartingWith("Scalar")
                .should().dependOnClassesThat().haveSimpleNameStartingWith("Scalar")
                .because("scalar twins are the test oracles of the fast kernels (docs/architecture.md §9)")
                .check(MAIN);
    }

    @Test
    void theRulesRejectABackArrowAndACycle() {
        JavaClasses fixture = new ClassFileImporter().importPackages("jseekfixture");
        assertEquals(2, fixture.size(), "the fixture classes");
        EvaluationResult layered = Layers.layered("jseekfixture").evaluate(fixture);
        assertTrue(layered.hasViolation(), "a tensor -> model arrow must violate the layers");
        assertTrue(layered.getFailureReport().toString().contains("jseekfixture.tensor.Codec"), layered.getFailureReport().toString());
        EvaluationResult cycles = Layers.noCycles("jseekfixture").evaluate(fixture);
        assertTrue(cycles.hasViolation(), "tensor <-> model must be a cycle");
        assertTrue(cycles.getFailureReport().toString().contains("jseekfixture.model.Net"), cycles.getFailureReport().toString());
    }
}
