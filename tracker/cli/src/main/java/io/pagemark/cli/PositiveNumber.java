package io.pagemark.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** An option value that must be a positive whole number: {@code @Option(converter = PositiveNumber.class)}. */
final class PositiveNumber implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        try {
            long n = Long.parseLong(value.strip());
            if (n > 0) return n;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new TypeConversionException("'" + value + "' is not a positive whole number");
    }
}
