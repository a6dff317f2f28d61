package dev.jseek.data;

import java.util.Arrays;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Selects the hand-written Java sources of a JDK {@code lib/src.zip} for a code corpus. Keeps {@code *.java}
 * entries and drops locale data, which is generated, enormous and not code:
 * <ul>
 *   <li>everything under {@code sun/text/resources/} and {@code sun/util/resources/} (in any module, chiefly
 *       {@code jdk.localedata}): the FormatData, LocaleNames, CurrencyNames, TimeZoneNames, CalendarData ... bundles
 *       that the JDK build generates from CLDR — in JDK 25 about 1,580 files, 42 MB, a fifth of the bytes of
 *       src.zip, nearly all string tables in dozens of languages (e.g. {@code TimeZoneNames_ff_Adlm.java}, 212 KB);</li>
 *   <li>any other {@code LocaleNames*}, {@code CurrencyNames*}, {@code TimeZoneNames*} file;</li>
 *   <li>translated resource bundles: a file whose base name ends in {@code _ll}, {@code _ll_CC} or {@code _ll_Ssss}
 *       where {@code ll} is an ISO 639 two-letter language of {@link java.util.Locale#getISOLanguages()} (e.g.
 *       {@code XSLTErrorResources_de.java}, {@code launcher_zh_CN.java}; about 325 files, 5.5 MB): message tables
 *       translated from the English bundle, which is kept.</li>
 * </ul>
 * Charset tables and other generated code (e.g. {@code sun/nio/cs}) are kept: they are Java code, if repetitive.
 */
public final class JdkSourceFilter implements Predicate<String> {
    private static final Set<String> LANGUAGES = Arrays.stream(java.util.Locale.getISOLanguages()).collect(Collectors.toUnmodifiableSet());
    /** base name = stem + _language [+ _Script] [+ _COUNTRY | _region digits] + .java */
    private static final Pattern LOCALE_SUFFIX = Pattern.compile("^.+?_([a-z]{2})(?:_[A-Z][a-z]{3})?(?:_[A-Z]{2}|_[0-9]{3})?\\.java$");

    @Override public boolean test(String entryName) {
        if (!entryName.endsWith(".java")) return false;
        return !isLocaleData(entryName);
    }

    /** True for the locale data described in the class comment. */
    public static boolean isLocaleData(String entryName) {
        if (entryName.contains("sun/text/resources/") || entryName.contains("sun/util/resources/")) return true;
        String base = entryName.substring(entryName.lastIndexOf('/') + 1);
        if (base.startsWith("LocaleNames") || base.startsWith("CurrencyNames") || base.startsWith("TimeZoneNames")) return true;
        Matcher m = LOCALE_SUFFIX.matcher(base);
        return m.matches() && LANGUAGES.contains(m.group(1));
    }
}
